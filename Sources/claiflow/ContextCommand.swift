import ArgumentParser
import ClaiflowCLI
import Foundation

/// `claiflow context list|use`: the contexts of the configuration file.
struct ContextCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context",
        abstract: "List the stored contexts (server + API key) or switch to one.",
        discussion: """
            Examples:
              claiflow context list
              claiflow context use staging
            """,
        subcommands: [List.self, Use.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the contexts; the current one is marked with *.",
            discussion: "Example:\n  claiflow context list -o yaml")

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let path = CLIConfig.path(environment: ProcessInfo.processInfo.environment)
            let config = try CLIConfig.load(path: path)
            // Keys are never printed, in any format.
            let shown = config.contexts.map {
                ShownContext(name: $0.name, server: $0.server, current: $0.name == config.currentContext)
            }
            try output.print(shown) { _ in
                Table(
                    header: ["current", "name", "server"],
                    rows: shown.map { [$0.current ? "*" : "", $0.name, $0.server] })
            }
        }

        struct ShownContext: Encodable {
            let name: String
            let server: String
            let current: Bool
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a context the current one.", discussion: "Example:\n  claiflow context use prod")

        @Argument(help: "The context's name.")
        var name: String

        func run() async throws {
            let path = CLIConfig.path(environment: ProcessInfo.processInfo.environment)
            var config = try CLIConfig.load(path: path)
            guard config.context(named: name) != nil else {
                throw CLIError.usage(
                    "no context \"\(name)\" in \(path); known: \(config.contexts.map(\.name).joined(separator: ", "))")
            }
            config.currentContext = name
            try config.save(path: path)
            Terminal.error("Switched to context \"\(name)\".")
        }
    }
}
