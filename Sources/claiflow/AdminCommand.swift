import ArgumentParser

/// `claiflow admin`: operator commands that work on the database directly, without the server.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer an installation through its database (for an operator locked out of the API).",
        subcommands: [AdminCreateKeyCommand.self]
    )
}
