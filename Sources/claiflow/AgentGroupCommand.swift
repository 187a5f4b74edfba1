import ArgumentParser

/// `claiflow agent`: runs the agent (the default, `claiflow agent --server …`), or prints the
/// manifests that install it (`claiflow agent manifests …`).
struct AgentGroupCommand: AsyncParsableCommand {
    static let configuration = ArgumentParser.CommandConfiguration(
        commandName: "agent",
        abstract: "Run the claiflow agent for one cluster (the default), or print its install manifests.",
        subcommands: [AgentCommand.self, AgentManifestsCommand.self],
        defaultSubcommand: AgentCommand.self
    )
}
