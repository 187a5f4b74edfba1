import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow template …`: the flows services are made from.
struct TemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "List, show, create and delete templates.",
        discussion: """
            Examples:
              claiflow template list --query '(like name "kubernetes_pods%")'
              claiflow template create -f pods.yaml
              claiflow template get kubernetes_pods_get -o yaml
            """,
        subcommands: [List.self, Get.self, Create.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List templates.", discussion: "Example:\n  claiflow template list --limit 20 -o wide")

        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listTemplates(query: .init(q: list.query, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.templates(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one template (by uuid or name).",
            discussion: "Example:\n  claiflow template get kubernetes_pods_get -o json")

        @Argument(help: "The template's uuid or name.") var template: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let found = try await connection.client().template(template)
            try output.print(found) { ResourceTables.templates([found], wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a template from a JSON or YAML file (the body of POST /api/v1/template).",
            discussion: """
                Example (pods.yaml):
                  name: list pods
                  flow:
                    - {$id: step1, $command: kubernetes.pods.list.v1, inputs: {namespace: $inputs.namespace}}
                  inputs: {type: object, required: [namespace], properties: {namespace: {type: string}}}

                  claiflow template create -f pods.yaml
                """)

        @Option(name: .shortAndLong, help: "The file (- for standard input).") var file: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let body = try JSONInput.decode(Components.Schemas.TemplateCreate.self, from: JSONInput.file(file), what: file)
            let created = try await connection.client().api.createTemplate(body: .json(body)).ok.body.json
            try output.print(created) { ResourceTables.templates([created], wide: $0) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a template (--force for a built-in one).",
            discussion: "Example:\n  claiflow template delete 'list pods'")

        @Argument(help: "The template's uuid or name.") var template: String
        @Flag(help: "Delete a built-in template too.") var force = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.template(template)
            _ = try await client.api.deleteTemplate(path: .init(uuid: found.uuid), query: .init(force: force ? "true" : nil)).ok
            Terminal.write("template \(found.uuid) (\(found.name)) deleted\n")
        }
    }
}
