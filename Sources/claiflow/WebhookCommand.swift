import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation
import OpenAPIRuntime

/// `claiflow webhook …`: where status changes are sent.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "List, show, create and delete webhooks; their deliveries, redelivery and test publishing.",
        discussion: """
            Examples:
              claiflow webhook create -f ops-alerts.yaml
              claiflow webhook deliveries ops-alerts --query '{"eq":{"status":"failed"}}'
              claiflow webhook redeliver ops-alerts 2c4e6a8b0d1f4a3c5e7a9b1d3f5a7c9e
            """,
        subcommands: [List.self, Get.self, Create.self, Delete.self, Deliveries.self, Redeliver.self, Publish.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List webhooks.", discussion: "Example:\n  claiflow webhook list")
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listWebhooks(query: .init(q: list.query, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.webhooks(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a webhook.", discussion: "Example:\n  claiflow webhook get ops-alerts -o yaml")
        @Argument(help: "The webhook's uuid.") var uuid: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let hook = try await connection.client().api.getWebhook(path: .init(uuid: uuid)).ok.body.json
            try output.print(hook) { ResourceTables.webhooks([hook], wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a webhook from a JSON or YAML file (the body of POST /api/v1/webhook).",
            discussion: "Example:\n  claiflow webhook create -f ops-alerts.yaml")
        @Option(name: .shortAndLong, help: "The file (- for standard input).") var file: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let body = try JSONInput.decode(Components.Schemas.WebhookCreate.self, from: JSONInput.file(file), what: file)
            let hook = try await connection.client().api.createWebhook(body: .json(body)).ok.body.json
            try output.print(hook) { ResourceTables.webhooks([hook], wide: $0) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a webhook.", discussion: "Example:\n  claiflow webhook delete ops-alerts")
        @Argument(help: "The webhook's uuid.") var uuid: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            _ = try await connection.client().api.deleteWebhook(path: .init(uuid: uuid)).ok
            Terminal.write("webhook \(uuid) deleted\n")
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a webhook's deliveries, newest first.",
            discussion: "Example:\n  claiflow webhook deliveries ops-alerts --limit 10")
        @Argument(help: "The webhook's uuid.") var uuid: String
        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listWebhookDeliveries(
                path: .init(uuid: uuid), query: .init(q: list.query, p: list.page)
            )
            .ok.body.json
            try output.print(rows) { _ in
                Table(
                    header: ["uuid", "cluster", "service", "status", "attempts", "code", "age"],
                    rows: rows.map {
                        [
                            $0.uuid, $0.clusterUuid, $0.serviceUuid, $0.status.rawValue, String($0.attempts),
                            $0.lastResponseCode.map(String.init) ?? "", RelativeAge.format($0.created),
                        ]
                    })
            }
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a delivery again.",
            discussion: "Example:\n  claiflow webhook redeliver ops-alerts 2c4e6a8b0d1f4a3c5e7a9b1d3f5a7c9e")
        @Argument(help: "The webhook's uuid.") var uuid: String
        @Argument(help: "The delivery's uuid.") var delivery: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let result = try await connection.client().api.redeliverWebhookDelivery(
                path: .init(uuid: uuid, deliveryUuid: delivery)
            ).ok.body.json
            try output.print(result) { _ in Table(header: ["uuid", "status"], rows: [[result.uuid, result.status.rawValue]]) }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test payload (a JSON or YAML file, or the server's sample) to a webhook now.",
            discussion: "Example:\n  claiflow webhook publish ops-alerts")
        @Argument(help: "The webhook's uuid.") var uuid: String
        @Option(name: .shortAndLong, help: "A payload file.") var file: String?
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let body = try file.map { try JSONInput.decode(OpenAPIValueContainer.self, from: JSONInput.file($0), what: $0) }
            let outcome = try await connection.client().api.publishWebhook(path: .init(uuid: uuid), body: body.map { .json($0) })
                .ok.body.json
            try output.print(outcome) { _ in
                Table(
                    header: ["sent", "condition", "code", "error"],
                    rows: [
                        [
                            String(outcome.sent), String(outcome.condition), outcome.statusCode.map(String.init) ?? "",
                            outcome.error ?? "",
                        ]
                    ])
            }
        }
    }
}
