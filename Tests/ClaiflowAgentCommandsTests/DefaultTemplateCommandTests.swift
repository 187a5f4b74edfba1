import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowStore
import Foundation
import Hummingbird
import Testing

@testable import ClaiflowAgentCommands

/// One default template: its command and input schema.
struct DefaultTemplate: Sendable {
    var name: String
    var command: String
    var schema: JSONValue

    static func load() throws -> [DefaultTemplate] {
        guard case .array(let rows) = try ClaiflowStore.DefaultTemplates.shippedJSON() else {
            throw TestFailure("the templates file is not an array")
        }
        return try rows.map { row in
            guard case .string(let name)? = row.field("name"), case .string(let command)? = row.field("command") else {
                throw TestFailure("a template without name or command")
            }
            return DefaultTemplate(name: name, command: command, schema: row.field("inputs_schema") ?? .object([:]))
        }
    }

    /// The properties the schema requires (the first `oneOf` branch's when there is one).
    var required: [String] {
        var names: [String] = []
        if case .array(let items)? = schema.field("required") {
            names += items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
        }
        if case .array(let branches)? = schema.field("oneOf"), case .array(let items)? = branches.first?.field("required") {
            names += items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
        }
        return names
    }
}

/// A stand-in Prometheus API that records paths and answers success envelopes (the real
/// Prometheus is exercised in PrometheusCommandTests).
actor PrometheusStub {
    private(set) var paths: [String] = []

    func record(_ path: String) { paths.append(path) }

    nonisolated func handler() -> @Sendable (Request) async throws -> Response {
        { request in
            await self.record(request.uri.path)
            return jsonResponse(.ok, .object(["status": .string("success"), "data": .object([:])]))
        }
    }
}

@Suite("default templates against the built-in catalog")
struct DefaultTemplateCommandTests {
    @Test("there are 235 templates; each names a built-in or a system command")
    func registered() throws {
        let templates = try DefaultTemplate.load()
        #expect(templates.count == 235)
        let catalog = try makeCatalog()
        for template in templates {
            if CommandCatalog.systemCommands.contains(template.command) {
                #expect(catalog.commands[template.command] == nil, "\(template.command) is the runtime's")
            } else {
                #expect(catalog.commands[template.command] != nil, "\(template.name): \(template.command) is not registered")
            }
        }
        #expect(CommandCatalog.systemCommands == ["claiflow.client_pod.rebounce", "claiflow.client.upgrade"])
    }

    @Test("every template's command accepts inputs shaped like its schema and reaches the right place")
    func walk() async throws {
        let templates = try DefaultTemplate.load().sorted { rank($0.command) < rank($1.command) }
        let helm = try FakeHelm()
        let prometheus = PrometheusStub()
        let store = try temporaryDirectory().appendingPathComponent("credentials").path
        try await withTestServer(prometheus.handler()) { prometheusPort in
            try await withFakeKubernetes(
                credentialStore: .file(path: store, key: Data(repeating: 1, count: 32))
            ) { fake, _, kubernetesPort in
                var configuration = CommandConfiguration(
                    httpClient: testHTTPClient,
                    kubernetes: KubernetesAccess(
                        baseURL: "http://127.0.0.1:\(kubernetesPort)", authentication: .bearerToken("test-token")),
                    credentialStore: .file(path: store, key: Data(repeating: 1, count: 32)))
                configuration.helmSearchPath = helm.directory.path
                let catalog = try CommandCatalog.builtin(configuration)

                for resource in FakeKubernetesAPIServer.resources {
                    try await fake.seed(
                        resource, namespace: "default", .object(["metadata": .object(["name": .string("sample")])]))
                }
                var walked = 0
                for template in templates where !CommandCatalog.systemCommands.contains(template.command) {
                    let inputs = sampleInputs(template, prometheusURL: "http://127.0.0.1:\(prometheusPort)")
                    let parts = template.command.split(separator: ".", maxSplits: 3).map(String.init)
                    switch parts[0] {
                    case "kubernetes":
                        try await checkKubernetes(template, parts, inputs, catalog, fake)
                    case "prometheus":
                        _ = try await call(catalog, template.command, inputs)
                        let expected = "/api/v1/" + template.command.dropFirst("prometheus.".count).dropLast(".v1".count)
                        #expect(await prometheus.paths.last == expected, "\(template.command)")
                    case "helm":
                        _ = try await call(catalog, template.command, inputs)
                        let subcommand = template.command.dropFirst("helm.".count).split(separator: "_").map(String.init)
                        let expected =
                            subcommand == ["get", "values"] || subcommand.first == "repo" ? subcommand : [subcommand[0]]
                        #expect(
                            Array(try helm.invocations().last?.prefix(expected.count) ?? []) == expected, "\(template.command)")
                    default:
                        let output = try await call(catalog, template.command, inputs)
                        guard case .array = output else {
                            Issue.record("\(template.command) returned \(output.serialized())")
                            continue
                        }
                    }
                    walked += 1
                }
                #expect(walked == 233)
            }
        }
    }

    /// get/list/patch before delete; credential add before update/remove.
    private func rank(_ command: String) -> Int {
        if command.contains(".delete.") || command.hasSuffix(".remove") { return 3 }
        if command.hasSuffix(".update") { return 2 }
        if command.hasSuffix(".add") { return 0 }
        return 1
    }

    private func sampleInputs(_ template: DefaultTemplate, prometheusURL: String) -> JSONValue {
        var inputs: [String: JSONValue] = [:]
        for name in template.required {
            switch name {
            case "name": inputs[name] = .string("sample")
            case "namespace": inputs[name] = .string("default")
            case "url": inputs[name] = .string(prometheusURL)
            case "query": inputs[name] = .string("up")
            case "start", "end": inputs[name] = .string("2026-01-01T00:00:00Z")
            case "step": inputs[name] = .string("15s")
            case "patch_type":
                inputs[name] = .string("merge")
                inputs["patch_data"] = .object(["metadata": .object(["labels": .object(["walk": .string("yes")])])])
            case "command": inputs[name] = .string("echo sample walk")
            case "chart_name": inputs[name] = .string("nginx")
            case "repo_url": inputs[name] = .string("https://charts.example.com")
            case "repo_name": inputs[name] = .string("example")
            case "credentials":
                inputs[name] = .object(["walk-key": .object(["type": .string("grafana"), "data": .string("token")])])
            case "credential_keys":
                inputs[name] = .array([.object(["key": .string("walk-key")])])
            default:
                switch template.schema.field("properties")?.field(name)?.field("type") {
                case .string("integer")?: inputs[name] = .integer(1)
                case .string("boolean")?: inputs[name] = .bool(true)
                case .string("object")?: inputs[name] = .object([:])
                default: inputs[name] = .string("x")
                }
            }
        }
        return .object(inputs)
    }

    private func checkKubernetes(
        _ template: DefaultTemplate, _ parts: [String], _ inputs: JSONValue, _ catalog: CommandCatalog,
        _ fake: FakeKubernetesAPIServer
    ) async throws {
        let (resourceName, verb, groupVersion) = (parts[1], parts[2], parts[3])
        if verb == "exec" {
            try await fake.seed(try fakeResource("pods"), namespace: "default", pod("sample"))
            let output = try await call(catalog, template.command, inputs)
            #expect(output.field("stdout") == .string("sample walk"), "\(template.command)")
            #expect(await fake.requests.last?.path == "/api/v1/namespaces/default/pods/sample/exec")
            return
        }
        let gv = groupVersion.split(separator: "/").map(String.init)
        let resource = try #require(
            FakeKubernetesAPIServer.resource(
                group: gv.count == 2 ? gv[0] : "", version: gv.last ?? "", name: resourceName),
            "\(template.command) names a resource the API does not serve")
        let prefix = resource.group.isEmpty ? "/api/\(resource.version)" : "/apis/\(resource.group)/\(resource.version)"
        var path = prefix + (resource.namespaced && verb != "list" ? "/namespaces/default" : "") + "/\(resource.name)"
        if verb != "list" { path += "/sample" }
        if verb == "list", resource.namespaced, inputs.field("namespace") != nil {
            path = prefix + "/namespaces/default/\(resource.name)"
        }

        let output = try await call(catalog, template.command, inputs)
        let seen = await fake.requests.last
        let method = ["get": "GET", "list": "GET", "patch": "PATCH", "delete": "DELETE"][verb]
        #expect(seen?.method == method, "\(template.command)")
        #expect(seen?.path == path, "\(template.command)")
        switch verb {
        case "get": #expect(output.field("kind") == .string(resource.kind), "\(template.command)")
        case "list":
            #expect(output.field("kind") == .string("\(resource.kind)List"), "\(template.command)")
            #expect(names(output) == ["sample"], "\(template.command)")
        case "patch":
            #expect(output.field("metadata")?.field("labels")?.field("walk") == .string("yes"), "\(template.command)")
        default:
            #expect(output.field("status") == .string("Success"), "\(template.command)")
        }
    }
}
