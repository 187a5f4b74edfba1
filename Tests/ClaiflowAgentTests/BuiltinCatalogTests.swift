import ClaiflowAgent
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFlow
import Testing

/// The runtime with the built-in command catalog, as `claiflow agent` assembles it.
@Suite("Agent runtime with the built-in catalog", .serialized)
struct BuiltinCatalogTests {
    @Test("built-in commands run through the runtime; a custom command registers next to them")
    func builtinAndCustom() async throws {
        try await Harness.with { h in
            var catalog = try CommandCatalog.builtin(CommandConfiguration(httpClient: .shared))
            catalog.register("acme.greet") { call in
                guard case .string(let name)? = call.inputs?.field("name") else { throw FlowCommandError("\"name\" is required") }
                return .object(["greeting": .string("hello \(name)")])
            }
            let agent = h.startAgent(h.configuration(), commands: catalog.commands)
            try await h.createService(
                "builtin",
                flow: """
                    [{"$id":"e","$command":"claiflow.echo","inputs":{"name":"$inputs.name"}},
                     {"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":0}},
                     {"$id":"g","$command":"acme.greet","inputs":{"name":"$e.outputs.name"}}]
                    """,
                inputs: #"{"name":"world"}"#)
            #expect(try await h.waitForStatus("builtin", [4, 8, 16]))
            let state = try await h.state("builtin")
            #expect(state.status == 4, "\(state.messages)")
            #expect(try await h.result("builtin") == #"{"greeting":"hello world"}"#)
            // Without Kubernetes access a kubernetes command fails clearly.
            try await h.createService(
                "no-kube", flow: #"[{"$id":"p","$command":"kubernetes.pods.list.v1","inputs":{"namespace":"default"}}]"#)
            #expect(try await h.waitForStatus("no-kube", [4, 8, 16]))
            let kube = try await h.state("no-kube")
            #expect(kube.status == 8)
            #expect(kube.messages.last?.contains("Kubernetes") == true, "\(kube.messages)")
            try await agent.shutdown()
        }
    }
}
