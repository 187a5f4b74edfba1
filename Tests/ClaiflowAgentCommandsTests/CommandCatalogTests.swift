import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFlow
import Foundation
import Testing

@Suite("command catalog")
struct CommandCatalogTests {
    @Test("custom commands are registered and replace built-ins; system commands are not in the catalog")
    func register() async throws {
        var catalog = try makeCatalog()
        let builtinCount = catalog.commands.count
        // 53 resources × 4 verbs + exec, 7 prometheus, 9 helm, 4 credential (+4 original names), http, echo, sleep.
        #expect(builtinCount == 213 + 7 + 9 + 8 + 3)
        catalog.register("acme.greet") { call in
            guard case .string(let name)? = call.inputs?.field("name") else { throw FlowCommandError("\"name\" is required") }
            return .object(["greeting": .string("hello \(name)"), "step": .string(call.stepID)])
        }
        catalog.register("claiflow.echo") { _ in .string("replaced") }
        #expect(catalog.commands.count == builtinCount + 1)
        #expect(try await call(catalog, "claiflow.echo", nil) == .string("replaced"))
        #expect(catalog.names.contains("acme.greet"))
        for name in CommandCatalog.systemCommands { #expect(catalog.commands[name] == nil) }
    }

    @Test("in a flow, a command's error text becomes the step's error")
    func inAFlow() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await fake.seed(
                try fakeResource("configmaps"), namespace: "web",
                .object(["metadata": .object(["name": .string("settings")]), "data": .object(["mode": .string("blue")])]))
            let flow = try Flow.parse(
                """
                [
                  {"$id": "cm", "$command": "kubernetes.configmaps.get.v1", "inputs": {"namespace": "web", "name": "settings"}},
                  {"$id": "echo", "$command": "claiflow.echo", "inputs": {"mode": "$cm.outputs.data.mode"}},
                  {"$id": "missing", "$command": "kubernetes.configmaps.get.v1", "inputs": {"namespace": "web", "name": "nope"}}
                ]
                """)
            let outcome = await FlowEngine(commands: catalog.commands).run(flow, inputs: .object([:]))
            #expect(outcome.status == .failed)
            #expect(outcome.reports.filter { $0.status == .succeeded }.map(\.stepID) == ["cm", "echo"])
            #expect(outcome.reports.first { $0.stepID == "echo" && $0.status == .succeeded }?.result == "{\"mode\":\"blue\"}")
            #expect(
                outcome.error
                    == "step \"missing\": command \"kubernetes.configmaps.get.v1\" failed: kubernetes API: configmaps \"nope\" not found (NotFound, code 404)"
            )
        }
    }
}
