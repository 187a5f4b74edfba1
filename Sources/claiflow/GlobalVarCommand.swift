import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow globalvar …`: the server's global variables.
struct GlobalVarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "globalvar",
        abstract: "List and set global variables (setting needs the admin role).",
        discussion: "Examples:\n  claiflow globalvar list\n  claiflow globalvar set ClientConfig/PollInterval 30",
        subcommands: [List.self, Set.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List global variables.", discussion: "Example:\n  claiflow globalvar list -o wide")
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listGlobalVariables(query: .init(q: list.query, p: list.page)).ok.body
                .json
            try output.print(rows) { ResourceTables.globalVariables(rows, wide: $0) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a global variable (by uuid or name).",
            discussion: "Example:\n  claiflow globalvar set ClusterToken/ExpirationTime 8760h")
        @Argument(help: "The variable's uuid or name.") var variable: String
        @Argument(help: "The new value.") var value: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let all = try await client.api.listGlobalVariables(query: .init()).ok.body.json
            guard let found = all.first(where: { $0.uuid == variable || $0.name == variable }) else {
                throw CLIError("no global variable \"\(variable)\"; `claiflow globalvar list` shows them")
            }
            let updated = try await client.api.updateGlobalVariable(
                path: .init(uuid: found.uuid), body: .json(.init(value: value))
            ).ok.body.json
            try output.print(updated) { ResourceTables.globalVariables([updated], wide: $0) }
        }
    }
}
