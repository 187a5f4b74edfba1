import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Testing

@Suite("Template API")
struct TemplateAPITests {
    @Test("the 235 default templates exist from the first start with the original's uuids, names and commands")
    func defaults() async throws {
        try await TestServer.with { s in
            let all = try await s.request(.GET, TestServer.query("/api/v1/template", p: #"{"limit":1000}"#))
            #expect(all.status == 200)
            #expect(all.array.count == 235)
            let pods = try await s.request(.GET, "/api/v1/template/00000000000000000000000000000001")
            #expect(pods.string("name") == "kubernetes_pods_get")
            #expect(pods.json?.field("commands") == .array([.string("kubernetes.pods.get.v1")]))
            #expect(pods.json?.field("builtin") == .bool(true))
            #expect(pods.json?.field("step_max") == .integer(1))
            #expect(pods.json?.field("inputs")?.field("required") == .array([.string("namespace"), .string("name")]))
            let credential = try await s.request(.GET, "/api/v1/template/99990000000000000000000000000003")
            #expect(credential.json?.field("commands") == .array([.string("claiflow.credential.add")]))
            #expect(credential.string("origin") == "system")
            let system = try await s.request(.GET, TestServer.query("/api/v1/template", q: #"{"eq":{"origin":"system"}}"#))
            #expect(system.array.count == 6)
        }
    }

    @Test("create, get, update and delete a template; built-in ones need force, and stay deleted")
    func lifecycle() async throws {
        let (url, cleanup) = try await StoreFixtureURL.fresh()
        try await TestServer.with(databaseURL: url) { s in
            let flow = #"[{"$id":"s1","$command":"claiflow.echo","inputs":{"msg":"$inputs.msg"}}]"#
            let schema = #"{"type":"object","properties":{"msg":{"type":"string"}},"required":["msg"]}"#
            let created = try await s.request(
                .POST, "/api/v1/template", json: #"{"uuid":"echo","name":"echo","flow":\#(flow),"inputs":\#(schema)}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.string("origin") == "userdefined")
            #expect(created.json?.field("builtin") == .bool(false))
            // flow and inputs may also be given as strings holding JSON, as the original stored them.
            let asText = try await s.request(
                .POST, "/api/v1/template",
                json: #"{"uuid":"echo2","name":"echo2","flow":"[{\"$id\":\"a\",\"$command\":\"x\"}]"}"#)
            #expect(asText.status == 200, "\(asText.body)")
            #expect(
                try await s.request(.POST, "/api/v1/template", json: #"{"uuid":"echo","name":"again","flow":\#(flow)}"#).status
                    == 409)

            let renamed = try await s.request(.PUT, "/api/v1/template/echo", json: #"{"summary":"says it back"}"#)
            #expect(renamed.string("summary") == "says it back")
            #expect(try await s.request(.PUT, "/api/v1/template/echo", json: "{}").status == 400)
            #expect(try await s.request(.PUT, "/api/v1/template/nope", json: #"{"name":"x"}"#).status == 404)
            #expect(try await s.request(.DELETE, "/api/v1/template/echo").status == 200)
            #expect(try await s.request(.GET, "/api/v1/template/echo").status == 404)

            let builtin = "00000000000000000000000000000001"
            let refused = try await s.request(.DELETE, "/api/v1/template/\(builtin)")
            #expect(refused.status == 409)
            #expect(refused.message.contains("force=true"))
            #expect(try await s.request(.DELETE, "/api/v1/template/\(builtin)?force=true").status == 200)
        }
        // A restart does not bring back a built-in template deleted on purpose.
        try await TestServer.with(databaseURL: url) { s async throws in
            #expect(try await s.request(.GET, "/api/v1/template/00000000000000000000000000000001").status == 404)
            #expect(try await s.request(.GET, "/api/v1/template/00000000000000000000000000000002").status == 200)
        }
        try await cleanup()
    }

    @Test(
        "an invalid flow or schema is a 400 naming the problem, and nothing is written",
        arguments: [
            (#"{"name":"t","flow":{"not":"an array"}}"#, "flow"),
            (#"{"name":"t","flow":[{"$id":"a","$command":"x"},{"$id":"a","$command":"y"}]}"#, "flow"),
            (#"{"name":"t","flow":[{"$id":"a","$command":"x","inputs":"$nope.outputs"}]}"#, "flow"),
            (#"{"name":"t","flow":"[not json"}"#, "flow"),
            (#"{"name":"t","flow":[{"$id":"a","$command":"x"}],"inputs":{"type":5}}"#, "inputs"),
            (#"{"name":"t","flow":[{"$id":"a","$command":"x"}],"inputs":{"required":"x"}}"#, "inputs"),
            (#"{"name":"t"}"#, "flow"),
            (#"{"flow":[{"$id":"a","$command":"x"}]}"#, "name"),
            (#"{"name":"t","flow":[{"$id":"a","$command":"x"}],"origin":"rm -rf"}"#, "origin"),
        ])
    func invalid(body: String, field: String) async throws {
        try await TestServer.with { s in
            let before = try await s.request(.GET, TestServer.query("/api/v1/template", p: #"{"limit":1000}"#)).array.count
            let reply = try await s.request(.POST, "/api/v1/template", json: body)
            #expect(reply.status == 400, "\(reply.body)")
            #expect(reply.message.contains("\"\(field)\""), "\(reply.body)")
            let after = try await s.request(.GET, TestServer.query("/api/v1/template", p: #"{"limit":1000}"#)).array.count
            #expect(after == before)
        }
    }

    /// Found by schemathesis: the server accepts these (numeric step ids are part of the flow
    /// language, boolean schemas are JSON Schemas) and returns them as written; the document
    /// used to allow only strings and objects there.
    @Test("a numeric step id and a boolean inputs schema are accepted, returned as written, and allowed by the document")
    func numericStepIDAndBooleanSchema() async throws {
        try await TestServer.with { s in
            let created = try await s.request(
                .POST, "/api/v1/template", json: #"{"uuid":"t0","name":"t0","flow":[{"$id":0,"$command":"x"}],"inputs":false}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.json?.field("inputs") == .bool(false))
            guard case .array(let steps)? = created.json?.field("flow") else {
                Issue.record("no flow: \(created.body)")
                return
            }
            #expect(steps.first?.field("$id") == .integer(0))
            let changed = try await s.request(.PUT, "/api/v1/template/t0", json: #"{"inputs":true}"#)
            #expect(changed.json?.field("inputs") == .bool(true), "\(changed.body)")
            // A false schema accepts no inputs: a service from the template is refused.
            #expect(try await s.request(.PUT, "/api/v1/template/t0", json: #"{"inputs":false}"#).status == 200)
            let service = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c0","name":"c0"}"#)
            #expect(service.status == 200)
            let refused = try await s.request(
                .POST, "/api/v1/cluster/c0/service", json: #"{"uuid":"s0","template_uuid":"t0","inputs":{}}"#)
            #expect(refused.status == 400, "\(refused.body)")

            let document = try await s.request(.GET, "/openapi.yaml", key: nil).body
            #expect(document.contains("    InputsSchema:\n      type: [object, boolean]\n"))
            #expect(document.contains("        $id:\n          type: [string, number]\n"))
        }
    }
}
