import ClaiflowCore
import ClaiflowServer
import Testing

/// The flow language v2 at the HTTP API: invalid constructs are refused at creation, with the
/// step and the reason, and nothing is written; valid ones are stored as written.
@Suite("Flow language v2 (API)")
struct FlowV2APITests {
    static let invalid: [(String, String)] = [
        (#"[{"$id":"a","$command":"x","$retries":3}]"#, #"flow[0] (step "a"): unknown key "$retries""#),
        (#"[{"$id":"a","$if":".x ==","$then":[]}]"#, #"flow[0] (step "a"): $if: not a valid jq program"#),
        (#"[{"$id":"a","$command":"x","$result":"map("}]"#, #"flow[0] (step "a"): $result: not a valid jq program"#),
        (#"[{"$id":"a","$command":"x","$timeout":"soon"}]"#, #"flow[0] (step "a"): $timeout: must be a duration"#),
        (
            #"[{"$id":"a","$range":[],"$retry":{"max_attempts":2}}]"#,
            #"flow[0] (step "a"): $retry: only a command step can be retried"#
        ),
        (
            #"[{"$id":"c","$if":"true","$then":[{"$id":"t","$command":"x"}]},{"$id":"z","$command":"y","inputs":{"v":"$t.outputs"}}]"#,
            #"flow[1] (step "z"): inputs.v: reference "$t.outputs": step "t" is in a branch of condition "c", which may not run"#
        ),
    ]

    @Test("an invalid v2 construct in a template, a service or a run is a 400 naming the step and the reason; nothing is written")
    func invalidConstructs() async throws {
        try await TestServer.with { s in
            #expect(try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#).status == 200)
            for (flow, expected) in Self.invalid {
                let template = try await s.request(.POST, "/api/v1/template", json: #"{"uuid":"t1","name":"t","flow":\#(flow)}"#)
                #expect(template.status == 400, "\(template.body)")
                #expect(template.message.contains(expected), "\(template.body)")
                let service = try await s.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"s1","flow":\#(flow)}"#)
                #expect(service.status == 400, "\(service.body)")
                #expect(service.message.contains(expected), "\(service.body)")
                let run = try await s.request(
                    .POST, "/api/v1/run", json: #"{"uuid":"r1","name":"r","flow":\#(flow),"cluster_uuids":["c1"]}"#)
                #expect(run.status == 400, "\(run.body)")
                #expect(run.message.contains(expected), "\(run.body)")
            }
            #expect(try await s.request(.GET, "/api/v1/template/t1").status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/s1").status == 404)
            #expect(try await s.request(.GET, "/api/v1/run/r1").status == 404)
        }
    }

    @Test("a valid v2 flow is accepted, stored as written, with step_max counting top-level steps")
    func validFlow() async throws {
        try await TestServer.with { s in
            #expect(try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#).status == 200)
            let flow = """
                [{"$id":"a","$command":"claiflow.echo","$retry":{"max_attempts":2,"backoff":"1s"},"$timeout":"5s","$result":".",
                  "$on_failure":[{"$id":"h","$command":"claiflow.echo","inputs":{"e":"$error.message"}}],"$continue":true},
                 {"$id":"c","$if":".steps.a.outputs != null","$then":[{"$id":"t","$command":"claiflow.echo"}]},
                 {"$id":"p","$parallel":[[{"$id":"p1","$command":"claiflow.sleep","inputs":{"seconds":0}}]],"$max_concurrency":1}]
                """
            let created = try await s.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"s1","flow":\#(flow)}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.json?.field("step_max") == .integer(3))
            #expect(created.string("flow").flatMap { try? JSONValue.parse($0) } == (try JSONValue.parse(flow)))
        }
    }
}
