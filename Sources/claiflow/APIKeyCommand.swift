import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow apikey …`: the operators' API keys (admin only).
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "List, create and delete API keys (admin role).",
        discussion: "Examples:\n  claiflow apikey create ci --role operator\n  claiflow apikey list",
        subcommands: [List.self, Create.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List API keys (never the keys).", discussion: "Example:\n  claiflow apikey list")
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listAPIKeys(query: .init(q: list.query, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.apiKeys(rows, wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; the key is printed once.",
            discussion: "Example:\n  KEY=$(claiflow apikey create ci --role operator -o json | jq -r .key)")
        @Argument(help: "The key's name.") var name: String
        @Option(help: "viewer, operator or admin.") var role = "viewer"
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            guard let role = Components.Schemas.APIKeyCreate.RolePayload(rawValue: role) else {
                throw ValidationError("--role must be viewer, operator or admin")
            }
            let key = try await connection.client().api.createAPIKey(body: .json(.init(name: name, role: role))).ok.body.json
            if output.output == .table || output.output == .wide {
                Terminal.write(ResourceTables.apiKeys([key], wide: false).render() + "\nKey (shown once): \(key.key ?? "")\n")
            } else {
                try output.print(key) { ResourceTables.apiKeys([key], wide: $0) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an API key.", discussion: "Example:\n  claiflow apikey delete 3f2b8c1e9d4a4f7c8e1f2a3b4c5d6e7f")
        @Argument(help: "The key's uuid.") var uuid: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            _ = try await connection.client().api.deleteAPIKey(path: .init(uuid: uuid)).ok
            Terminal.write("API key \(uuid) deleted\n")
        }
    }
}
