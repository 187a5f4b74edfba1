import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow cluster …`: the clusters of the fleet.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "List, create, change, label, pause and delete clusters.",
        discussion: """
            Examples:
              claiflow cluster list -l env=prod
              claiflow cluster create prod-eu-1 -l env=prod -l region=eu
              claiflow cluster pause prod-eu-1
              claiflow cluster register prod-eu-1 -l env=prod | kubectl apply -f -
            """,
        subcommands: [
            List.self, Get.self, Create.self, ClusterRegisterCommand.self, Update.self, Label.self, Pause.self, Resume.self,
            Delete.self,
        ]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List clusters.",
            discussion: "Examples:\n  claiflow cluster list\n  claiflow cluster list -l 'env=prod,region in (eu,us)' -o wide")

        @Option(name: [.customShort("l"), .long], help: "A label selector (kubectl syntax).")
        var selector: String?
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let rows = try await client.api.listClusters(query: .init(selector: selector, q: list.query, p: list.page)).ok.body
                .json
            try output.print(rows) { ResourceTables.clusters(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one cluster (by uuid or name).", discussion: "Example:\n  claiflow cluster get prod-eu-1 -o yaml")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let found = try await connection.client().cluster(cluster)
            try output.print(found) { ResourceTables.clusters([found], wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a cluster.",
            discussion: "Example:\n  claiflow cluster create prod-eu-1 --uuid prod-eu-1 -l env=prod --summary 'Frankfurt'")

        @Argument(help: "The cluster's name.") var name: String
        @Option(help: "The uuid (default: generated).") var uuid: String?
        @Option(help: "A summary.") var summary: String?
        @Option(name: [.customShort("l"), .customLong("label")], help: "A label key=value (repeatable).") var labels: [String] =
            []
        @Flag(help: "Create it paused.") var paused = false
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let body = Components.Schemas.ClusterCreate(
                uuid: uuid, name: name, summary: summary,
                labels: .init(additionalProperties: try LabelArguments.parse(labels)), paused: paused ? true : nil)
            let created = try await client.api.createCluster(body: .json(body)).ok.body.json
            try output.print(created) { ResourceTables.clusters([created], wide: $0) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a cluster's name or summary.",
            discussion: "Example:\n  claiflow cluster update prod-eu-1 --summary 'Frankfurt, 3 nodes'")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "The new summary.") var summary: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if name == nil && summary == nil { throw ValidationError("give --name or --summary") }
        }

        func run() async throws {
            try await ClusterCommand.update(cluster, .init(name: name, summary: summary), connection, output)
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set (k=v) or remove (k-) labels of a cluster; the others stay.",
            discussion: "Example:\n  claiflow cluster label prod-eu-1 tier=web region-")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @Argument(help: "key=value to set, key- to remove.") var changes: [String]
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.cluster(cluster)
            let labels = try LabelArguments.apply(changes, to: found.labels.additionalProperties)
            try await ClusterCommand.update(
                found.uuid, .init(labels: .init(value1: .init(additionalProperties: labels))), connection, output)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a cluster: its agents get no new services until it is resumed.",
            discussion: "Example:\n  claiflow cluster pause prod-eu-1")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws { try await ClusterCommand.update(cluster, .init(paused: true), connection, output) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused cluster.", discussion: "Example:\n  claiflow cluster resume prod-eu-1")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws { try await ClusterCommand.update(cluster, .init(paused: false), connection, output) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a cluster with its tokens, sessions and services.",
            discussion: "Example:\n  claiflow cluster delete prod-eu-1")

        @Argument(help: "The cluster's uuid or name.") var cluster: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.cluster(cluster)
            _ = try await client.api.deleteCluster(path: .init(uuid: found.uuid)).ok
            Terminal.write("cluster \(found.uuid) (\(found.name)) deleted\n")
        }
    }

    /// Sends an update for the cluster `ref` (uuid or name) and prints the result.
    static func update(
        _ ref: String, _ body: Components.Schemas.ClusterUpdate, _ connection: ConnectionOptions, _ output: OutputOptions
    ) async throws {
        let client = try connection.client()
        let found = try await client.cluster(ref)
        let updated = try await client.api.updateCluster(path: .init(uuid: found.uuid), body: .json(body)).ok.body.json
        try output.print(updated) { ResourceTables.clusters([updated], wide: $0) }
    }
}
