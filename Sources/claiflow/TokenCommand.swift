import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow token …`: the cluster tokens agents log in with.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "List, create, refresh, expire and delete cluster tokens (what an agent logs in with).",
        discussion: """
            Examples:
              claiflow token create prod-eu-1 --name 'prod-eu-1 agent'
              claiflow token list --cluster prod-eu-1
              claiflow token expire 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c
            """,
        subcommands: [List.self, Create.self, Refresh.self, Expire.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List cluster tokens (never their secrets).",
            discussion: "Example:\n  claiflow token list --cluster prod-eu-1")

        @Option(help: "Only the tokens of this cluster (uuid or name).") var cluster: String?
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let q = try await client.condition(list.query, cluster: cluster)
            let rows = try await client.api.listClusterTokens(query: .init(q: q, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.tokens(rows, wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for a cluster; its secret is printed once.",
            discussion: "Example:\n  TOKEN=$(claiflow token create prod-eu-1 -o json | jq -r .token)")

        @Argument(help: "The cluster (uuid or name).") var cluster: String
        @Option(help: "The token's name (default: \"<cluster name> agent\").") var name: String?
        @Option(help: "The uuid (default: generated).") var uuid: String?
        @Option(help: "A summary.") var summary: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.cluster(cluster)
            let body = Components.Schemas.ClusterTokenCreate(
                uuid: uuid, name: name ?? "\(found.name) agent", summary: summary, clusterUuid: found.uuid)
            let token = try await client.api.createClusterToken(body: .json(body)).ok.body.json
            if output.output == .table || output.output == .wide {
                Terminal.write(ResourceTables.tokens([token], wide: output.output == .wide).render())
                Terminal.write("\nSecret (shown once): \(token.token ?? "")\n")
            } else {
                try output.print(token) { ResourceTables.tokens([token], wide: $0) }
            }
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Extend a token's validity by the configured period from now.",
            discussion: "Example:\n  claiflow token refresh 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c")

        @Argument(help: "The token's uuid.") var uuid: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let token = try await connection.client().api.refreshClusterToken(path: .init(uuid: uuid)).ok.body.json
            try output.print(token) { ResourceTables.tokens([token], wide: $0) }
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Expire a token now: agents can no longer log in with it.",
            discussion: "Example:\n  claiflow token expire 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c")

        @Argument(help: "The token's uuid.") var uuid: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let token = try await connection.client().api.expireClusterToken(path: .init(uuid: uuid)).ok.body.json
            try output.print(token) { ResourceTables.tokens([token], wide: $0) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a token.", discussion: "Example:\n  claiflow token delete 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c")

        @Argument(help: "The token's uuid.") var uuid: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            _ = try await connection.client().api.deleteClusterToken(path: .init(uuid: uuid)).ok
            Terminal.write("token \(uuid) deleted\n")
        }
    }
}
