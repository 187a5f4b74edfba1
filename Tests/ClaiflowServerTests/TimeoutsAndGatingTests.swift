import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

/// Service timeouts, the cancellation watch and v2 delivery gating, over the agent protocol as
/// agents speak it (an original agent announces `client_lib_version` 0.1.0; ours 0.3.0).
@Suite("Service timeouts, cancellation watch, flow v2 gating")
struct TimeoutsAndGatingTests {
    /// A flow with a v2 key (`$timeout` on a command step).
    static let v2Flow = #"[{"$id":"a","$command":"claiflow.echo","$timeout":"30s"}]"#
    static let v1Flow = #"[{"$id":"a","$command":"claiflow.echo"}]"#

    static func connect(_ s: TestServer, token: String, library: String) async throws -> TestAgent {
        let r = try await s.request(
            .POST, "/api/v1/client/auth",
            json: #"{"cluster_uuid":"c1","assertion":"\#(token)","client_version":"x","client_lib_version":"\#(library)"}"#,
            key: nil)
        let jwt = try #require(r.string("access_token"), "\(r.body)")
        return TestAgent(server: s, jwt: jwt)
    }

    static func messages(_ s: TestServer, _ uuid: String) async throws -> [String] {
        let d = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        guard case .array(let rows)? = d.json?.field("statuses") else { return [] }
        return rows.compactMap { if case .string(let m)? = $0.field("message") { m } else { nil } }
    }

    @Test("a v2 service is never delivered to an original agent, says why, and goes to ours; v1 goes to both")
    func gating() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let original = try await Self.connect(s, token: token, library: "0.1.0")
            let created = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"v2","flow":\#(Self.v2Flow),"timeout":"10m"}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(original.uuids(try await original.poll(wait: 0)) == [])
            // Parked, it is not woken into taking it either.
            #expect(original.uuids(try await original.poll(wait: 0.3)) == [])
            #expect(try await Self.messages(s, "v2") == [AgentVersion.flowV2WaitMessage])
            #expect(AgentVersion.flowV2WaitMessage.contains("needs a claiflow agent ≥ 0.3.0"))
            // A v1 service still goes to the original agent, without a timeout field unless it has one.
            _ = try await s.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"v1","flow":\#(Self.v1Flow)}"#)
            let v1 = try await original.poll(wait: 0)
            #expect(original.uuids(v1) == ["v1"])
            #expect(v1.array.first?.field("timeout") == nil)
            let ours = try await Self.connect(s, token: token, library: AgentVersion.flowV2Minimum.description)
            let got = try await ours.poll(wait: 0)
            #expect(ours.uuids(got) == ["v2"])
            #expect(got.array.first?.field("timeout") == .string("10m"))
            let shown = try await s.request(.GET, "/api/v1/cluster/c1/service/v2")
            #expect(shown.string("timeout") == "10m")
        }
    }

    @Test("a run's v2 service on a cluster with only an original agent: the run's cluster says so")
    func gatingRun() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let original = try await Self.connect(s, token: token, library: "0.1.0")
            let created = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"uuid":"r1","name":"r","flow":\#(Self.v2Flow),"cluster_uuids":["c1"],"timeout":"1h"}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(original.uuids(try await original.poll(wait: 0)) == [])
            let run = try await s.request(.GET, "/api/v1/run/r1")
            guard case .array(let clusters)? = run.json?.field("clusters") else {
                Issue.record("no clusters: \(run.body)")
                return
            }
            #expect(clusters.first?.field("message") == .string(AgentVersion.flowV2WaitMessage), "\(run.body)")
            let serviceUUID = try #require(created.string("service_uuid"))
            let ours = try await Self.connect(s, token: token, library: "0.3.0")
            let got = try await ours.poll(wait: 0)
            #expect(ours.uuids(got) == [serviceUUID])
            #expect(got.array.first?.field("timeout") == .string("1h"))
        }
    }

    @Test(
        "a bad timeout is a 400 naming timeout, and nothing is written",
        arguments: [#""abc""#, "30", #""0s""#, #""9000h""#, "true"])
    func badTimeout(value: String) async throws {
        try await TestServer.with { s in
            _ = try await AgentAPITests.setUp(s)
            let service = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"x","flow":\#(Self.v1Flow),"timeout":\#(value)}"#)
            #expect(service.status == 400)
            #expect(service.message.contains("\"timeout\""), "\(service.message)")
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/x").status == 404)
            let run = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"uuid":"r","name":"r","flow":\#(Self.v1Flow),"cluster_uuids":["c1"],"timeout":\#(value)}"#)
            #expect(run.status == 400)
            #expect(run.message.contains("\"timeout\""), "\(run.message)")
            #expect(try await s.request(.GET, "/api/v1/run/r").status == 404)
        }
    }

    @Test("the cancellation watch answers at once for a canceled service, and wakes within the wait when one is canceled")
    func cancellationWatch() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let ours = try await Self.connect(s, token: token, library: "0.3.0")
            for uuid in ["a", "b"] {
                _ = try await s.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"\#(uuid)","flow":\#(Self.v1Flow)}"#)
            }
            #expect(ours.uuids(try await ours.poll(wait: 0)).sorted() == ["a", "b"])
            _ = try await ours.report("a", seq: 0, status: 2)
            _ = try await ours.report("b", seq: 0, status: 2)
            func watch(_ uuids: [String], wait: Double) async throws -> TestServer.Reply {
                let body = JSONValue.object(["uuids": .array(uuids.map(JSONValue.string))]).serialized()
                return try await s.request(
                    .POST, "/api/v1/client/service/cancellations?wait=\(wait)", json: body, key: ours.jwt)
            }
            // Nothing canceled: the wait passes, then an empty list.
            let idle = try await watch(["a", "b"], wait: 0.2)
            #expect(idle.status == 200)
            #expect(idle.json?.field("canceled") == .array([]))
            // A parked watch wakes when an operator cancels one of its services.
            let parked = Task { try await watch(["a", "b"], wait: 30) }
            #expect(try await waitUntil { s.app.agents.parkedCancellationWatches == 1 })
            let started = ContinuousClock.now
            #expect(try await s.request(.POST, "/api/v1/cluster/c1/service/b/cancel").status == 200)
            let woken = try await parked.value
            #expect(woken.json?.field("canceled") == .array([.string("b")]))
            #expect(ContinuousClock.now - started < .seconds(10))
            // Asked again, at once.
            #expect(try await watch(["a", "b"], wait: 30).json?.field("canceled") == .array([.string("b")]))
            // Without a session: 401; bad bodies: 400.
            let anonymous = try await s.request(
                .POST, "/api/v1/client/service/cancellations", json: #"{"uuids":["a"]}"#, key: nil)
            #expect(anonymous.status == 401)
            let bad = try await s.request(.POST, "/api/v1/client/service/cancellations", json: #"{"uuids":"a"}"#, key: ours.jwt)
            #expect(bad.status == 400)
            #expect(bad.message.contains("uuids"))
        }
    }
}
