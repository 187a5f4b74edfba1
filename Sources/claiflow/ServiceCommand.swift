import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import ClaiflowCore
import Foundation

/// `claiflow service …`: running a template on clusters and following it.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Run a template on clusters, list, show, follow and cancel services.",
        discussion: """
            Examples:
              claiflow service run kubernetes_pods_list --cluster prod-eu-1 --input namespace=kube-system --wait
              claiflow service list --cluster prod-eu-1 --status failed,expired
              claiflow service result 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c
            """,
        subcommands: [Run.self, List.self, Get.self, Result.self, Cancel.self, Watch.self]
    )

    /// `SERVICE [--cluster C]`: which service a command is about.
    struct ServiceArguments: ParsableArguments {
        @Argument(help: "The service's uuid.") var uuid: String
        @Option(help: "The cluster (uuid or name); needed when the uuid runs on several clusters.") var cluster: String?
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a template (uuid or name) on one or more clusters.",
            discussion: """
                With --wait the command follows the service (step n/m and status; one live line on a \
                terminal, plain lines otherwise), prints the result as JSON and exits 0 when the service \
                succeeded, 1 when it failed, expired or was canceled. Ctrl-C stops waiting and leaves the \
                service running. A value of --input that is JSON (a number, true, an object) is sent as \
                that JSON, anything else as a string; --input wins over --inputs-file.

                Examples:
                  claiflow service run kubernetes_pods_list --cluster prod-eu-1 --input namespace=kube-system --wait
                  claiflow service run 00000000000000000000000000000001 --cluster a --cluster b --inputs-file in.yaml
                """)

        @Argument(help: "The template's uuid or name.") var template: String
        @Option(help: "A cluster (uuid or name); repeat for several.") var cluster: [String] = []
        @OptionGroup var inputs: InputOptions
        @Option(help: "The service's uuid (default: generated).") var uuid: String?
        @Option(help: "The service's name (default: the template's).") var name: String?
        @Option(help: "A webhook to notify of every status change.") var webhook: String?
        @Flag(help: "Follow the service until it ends and print its result.") var wait = false
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if cluster.isEmpty { throw ValidationError("give at least one --cluster") }
        }

        func run() async throws {
            let client = try connection.client()
            let template = try await client.template(template)
            var clusters: [String] = []
            for ref in cluster { clusters.append(try await client.cluster(ref).uuid) }
            let body = Components.Schemas.ServiceCreate(
                value1: .init(uuid: uuid, name: name, templateUuid: template.uuid, inputs: try inputs.object(), webhook: webhook),
                value2: .init(clusterUuids: clusters))
            let created = try await client.api.createServices(body: .json(body)).ok.body.json
            guard wait else {
                try output.print(created) { ResourceTables.services(created, wide: $0) }
                return
            }
            let detach = Terminal.detachOnInterrupt(
                message: "Detached: the service goes on. Follow it with `claiflow service watch \(created.first?.uuid ?? "")`.")
            defer { detach.cancel() }
            var failed = false
            for service in created {
                failed = try await ServiceCommand.followAndPrint(service, client: client, output: output) || failed
            }
            if failed { throw ExitCode(CLIExitCode.failure) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List services, newest first (20 unless --limit says otherwise).",
            discussion: "Example:\n  claiflow service list --cluster prod-eu-1 --status failed,expired -o wide")

        @Option(help: "Only the services of this cluster (uuid or name).") var cluster: String?
        @Option(help: "Only these statuses (names or numbers, comma-separated).") var status: String?
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let q = try await client.condition(list.query, cluster: cluster)
            let rows = try await client.api.listServices(query: .init(q: q, p: list.page, status: status)).ok.body.json
            try output.print(rows) { ResourceTables.services(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one service with its status history.",
            discussion: "Example:\n  claiflow service get 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c --cluster prod-eu-1 -o yaml")

        @OptionGroup var service: ServiceArguments
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let found = try await connection.client().service(service.uuid, cluster: service.cluster)
            try output.print(found) { ResourceTables.services([found], wide: $0) }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a service's result as JSON (or YAML with -o yaml).",
            discussion: "Example:\n  claiflow service result 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c | jq '.items | length'")

        @OptionGroup var service: ServiceArguments
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.service(service.uuid, cluster: service.cluster)
            try await ServiceCommand.printResult(found, client: client, output: output)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a service (a claiflow agent interrupts the running step at once; the original, at its next step).",
            discussion: "Example:\n  claiflow service cancel 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c --cluster prod-eu-1")

        @OptionGroup var service: ServiceArguments
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.service(service.uuid, cluster: service.cluster)
            let canceled = try await client.api.cancelClusterService(
                path: .init(uuid: found.clusterUuid, serviceUuid: found.uuid)
            )
            .ok.body.json
            try output.print(canceled) { ResourceTables.services([canceled], wide: $0) }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a service until it ends, then print its result (exit 0 if it succeeded, else 1).",
            discussion: "Example:\n  claiflow service watch 6b1f3c2a9e4d4b7f8a0c5d2e1f3a4b6c --cluster prod-eu-1")

        @OptionGroup var service: ServiceArguments
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.service(service.uuid, cluster: service.cluster)
            let detach = Terminal.detachOnInterrupt(message: "Detached: the service goes on.")
            defer { detach.cancel() }
            if try await ServiceCommand.followAndPrint(found, client: client, output: output) {
                throw ExitCode(CLIExitCode.failure)
            }
        }
    }

    /// Follows `service` to its end and prints its result (or why it has none); returns whether it did not succeed.
    static func followAndPrint(
        _ service: Components.Schemas.Service, client: CLIClient, output: OutputOptions
    ) async throws -> Bool {
        let final = try await ServiceFollower(client: client).follow(
            cluster: service.clusterUuid, uuid: service.uuid, interactive: Terminal.isInteractive, write: Terminal.progress)
        guard final.status == ._4 else {
            let message = final.statuses?.last(where: { $0.message != nil })?.message
            Terminal.error(
                "service \(final.uuid) on \(final.clusterUuid) \(ResourceTables.word(final.status))"
                    + (message.map { ": \($0)" } ?? ""))
            return true
        }
        try await printResult(final, client: client, output: output)
        return false
    }

    /// Prints the result of a service as JSON (YAML with `-o yaml`), not as a JSON string.
    static func printResult(_ service: Components.Schemas.Service, client: CLIClient, output: OutputOptions) async throws {
        let result = try await client.api.getClusterServiceResult(
            path: .init(uuid: service.clusterUuid, serviceUuid: service.uuid)
        )
        .ok.body.json
        let json = ServiceFollower.resultJSON(result.result)
        if output.output == .yaml, let value = try? JSONValue.parse(json) {
            Terminal.write(try OutputPrinter.yaml(AnyJSON(value)))
        } else {
            Terminal.write(json + "\n")
        }
    }
}
