import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow run …`: fleet runs, one template over many clusters in waves.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create, list, show, follow and cancel fleet runs.",
        discussion: """
            Examples:
              claiflow run create kubernetes_pods_list -l env=prod --input namespace=kube-system --max-parallel 5 --max-failures 1 --wait
              claiflow run result 8d2e4f6a1b3c4d5e6f7a8b9c0d1e2f3a --reduce 'map(.result | length) | add'
            """,
        subcommands: [Create.self, List.self, Get.self, Result.self, Cancel.self, Watch.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a template (uuid or name) on the clusters a selector or --cluster names.",
            discussion: """
                With --wait the command prints a line per change of the counts (each wave), then a \
                table per cluster (or, with --reduce, the reduced result), and exits 0 when the run \
                succeeded, 1 otherwise. Ctrl-C stops waiting and leaves the run going. In --input \
                values, $cluster.name, $cluster.uuid and $cluster.labels.KEY are per cluster.

                Example:
                  claiflow run create kubernetes_pods_list -l env=prod --input namespace=kube-system \\
                    --max-parallel 25% --max-failures 1 --wait --reduce 'map(.result | length) | add'
                """)

        @Argument(help: "The template's uuid or name.") var template: String
        @Option(name: [.customShort("l"), .long], help: "A label selector choosing the clusters.") var selector: String?
        @Option(help: "A cluster (uuid or name) instead of a selector; repeatable.") var cluster: [String] = []
        @OptionGroup var inputs: InputOptions
        @Option(help: "The run's name (default: the template's).") var name: String?
        @Option(help: "At most this many clusters at once (a number or N%).") var maxParallel: String?
        @Option(help: "Stop once more than this many clusters failed (a number or N%).") var maxFailures: String?
        @Option(help: "Expire a cluster's service not picked up within this (Go duration, e.g. 5m).") var clusterTimeout: String?
        @Flag(help: "Include paused clusters (their service waits until they resume).") var includePaused = false
        @Flag(help: "Follow the run until it ends.") var wait = false
        @Option(help: "With --wait: print this jq program's output over the clusters' results.") var reduce: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if (selector == nil) == cluster.isEmpty { throw ValidationError("give either -l/--selector or --cluster") }
            if reduce != nil && !wait { throw ValidationError("--reduce needs --wait (or use `claiflow run result --reduce`)") }
        }

        func run() async throws {
            let client = try connection.client()
            let template = try await client.template(template)
            var clusters: [String]?
            if !cluster.isEmpty {
                clusters = []
                for ref in cluster { clusters?.append(try await client.cluster(ref).uuid) }
            }
            func limit(_ text: String?) -> Components.Schemas.RunLimit? {
                text.map { Int($0).map { .case1($0) } ?? .case2($0) }
            }
            let strategy = Components.Schemas.RunStrategy(
                maxParallel: limit(maxParallel), maxFailures: limit(maxFailures), clusterTimeout: clusterTimeout)
            let body = Components.Schemas.RunCreate(
                name: name ?? template.name, templateUuid: template.uuid, inputs: try inputs.object(), selector: selector,
                clusterUuids: clusters, strategy: strategy, includePaused: includePaused ? true : nil)
            let created = try await client.api.createRun(body: .json(body)).ok.body.json
            guard wait, let uuid = created.uuid else {
                try output.print(created) { RunCommand.table(created, wide: $0) }
                return
            }
            try await RunCommand.follow(uuid, reduce: reduce, client: client, output: output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runs, newest first.",
            discussion: "Example:\n  claiflow run list --query '{\"eq\":{\"intent\":\"running\"}}'")

        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listRuns(query: .init(q: list.query, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.runs(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a run with its clusters.", discussion: "Example:\n  claiflow run get 8d2e4f6a1b3c4d5e6f7a8b9c0d1e2f3a"
        )

        @Argument(help: "The run's uuid.") var uuid: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let run = try await connection.client().api.getRun(path: .init(uuid: uuid)).ok.body.json
            try output.print(run) { RunCommand.table(run, wide: $0) }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a run's merged result as JSON (with --reduce, the jq program's output).",
            discussion:
                "Example:\n  claiflow run result 8d2e4f6a1b3c4d5e6f7a8b9c0d1e2f3a --reduce 'map(select(.status != \"succeeded\") | .cluster.name)'"
        )

        @Argument(help: "The run's uuid.") var uuid: String
        @Option(help: "A jq program over the clusters array.") var reduce: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await RunCommand.printResult(uuid, reduce: reduce, client: connection.client(), output: output)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a run: nothing more is released, held services end canceled.",
            discussion: "Example:\n  claiflow run cancel 8d2e4f6a1b3c4d5e6f7a8b9c0d1e2f3a")

        @Argument(help: "The run's uuid.") var uuid: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let run = try await connection.client().api.cancelRun(path: .init(uuid: uuid)).ok.body.json
            try output.print(run) { RunCommand.table(run, wide: $0) }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a run until it ends, then show its clusters (exit 0 if it succeeded, else 1).",
            discussion: "Example:\n  claiflow run watch 8d2e4f6a1b3c4d5e6f7a8b9c0d1e2f3a")

        @Argument(help: "The run's uuid.") var uuid: String
        @Option(help: "Print this jq program's output over the clusters' results at the end.") var reduce: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await RunCommand.follow(uuid, reduce: reduce, client: connection.client(), output: output)
        }
    }

    /// A run as a table: its summary row, then its clusters.
    static func table(_ run: Components.Schemas.Run, wide: Bool) -> Table {
        guard let clusters = run.clusters, !clusters.isEmpty else { return ResourceTables.runs([run], wide: wide) }
        return ResourceTables.runClusters(clusters, wide: wide)
    }

    /// Follows a run to its end, prints its clusters (or the reduced result), exits 1 unless it succeeded.
    static func follow(_ uuid: String, reduce: String?, client: CLIClient, output: OutputOptions) async throws {
        let detach = Terminal.detachOnInterrupt(
            message: "Detached: the run goes on. Follow it with `claiflow run watch \(uuid)`.")
        defer { detach.cancel() }
        let final = try await RunFollower(client: client).follow(
            uuid: uuid, interactive: Terminal.isInteractive, write: Terminal.progress)
        if reduce != nil {
            try await printResult(uuid, reduce: reduce, client: client, output: output)
        } else {
            try output.print(final) { table(final, wide: $0) }
        }
        if !RunFollower.succeeded(final) {
            Terminal.error("run \(uuid) \(final.state?.rawValue ?? "ended")")
            throw ExitCode(CLIExitCode.failure)
        }
    }

    /// Prints the merged (or reduced) result as JSON, or YAML with `-o yaml`.
    static func printResult(_ uuid: String, reduce: String?, client: CLIClient, output: OutputOptions) async throws {
        let result = try await client.api.getRunResult(path: .init(uuid: uuid), query: .init(reduce: reduce)).ok.body.json
        if output.output == .yaml {
            Terminal.write(reduce == nil ? try OutputPrinter.yaml(result) : try OutputPrinter.yaml(result.result))
        } else {
            Terminal.write((reduce == nil ? try OutputPrinter.json(result) : try OutputPrinter.json(result.result)) + "\n")
        }
    }
}
