import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

/// Issue 14's loose ends over HTTP: `run_uuid` on service responses, concurrent run cancel and
/// reports, `like` patterns ending in an escape, and which reports wake the webhook deliverer.
@Suite("Fleet runs: loose ends (API)")
struct RunLooseEndsTests {
    static let flow = RunAPITests.flow

    @Test(
        "operator service responses carry run_uuid (null when none); the agent protocol's poll answer does not",
        arguments: StoreKind.available)
    func runUUIDOnServices(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await RunAPITests.fleet(s, 2)
            let created = try await s.request(
                .POST, "/api/v1/run", json: #"{"uuid":"r1","name":"n","flow":\#(Self.flow),"cluster_uuids":["c1","c2"]}"#)
            #expect(created.status == 200, "\(created.body)")
            let svc = try #require(created.string("service_uuid"))
            let one = try await s.request(.GET, "/api/v1/cluster/c1/service/\(svc)")
            #expect(one.status == 200 && one.string("run_uuid") == "r1", "\(one.body)")
            let listed = try await s.request(.GET, TestServer.query("/api/v1/service", q: #"{"eq":{"run_uuid":"r1"}}"#))
            #expect(
                listed.array.count == 2 && listed.array.allSatisfy { $0.field("run_uuid") == .string("r1") }, "\(listed.body)")
            // A service of no run: the field is there, null.
            let plain = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"plain","flow":[{"$id":"a","$command":"claiflow.echo"}]}"#)
            #expect(plain.status == 200, "\(plain.body)")
            #expect(plain.body.contains(#""run_uuid":null"#), "\(plain.body)")
            let all = try await s.request(.GET, "/api/v1/service")
            #expect(all.array.count == 3 && all.body.components(separatedBy: #""run_uuid":"#).count == 4, "\(all.body)")
            // The agent's poll answer is the original's: no run_uuid.
            let agent = try await TestAgent.connect(s, cluster: "c2", token: tokens["c2"] ?? "")
            let polled = try await agent.poll(wait: 0)
            #expect(agent.uuids(polled) == [svc])
            #expect(!polled.body.contains("run_uuid"), "\(polled.body)")
        }
    }

    @Test(
        "a run's cancel and its services' last reports at the same time: no 500, every cluster ends once",
        arguments: StoreKind.available)
    func cancelWhileReporting(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let n = 12
            let tokens = try await RunAPITests.fleet(s, n)
            var agents: [TestAgent] = []
            for i in 1...n { agents.append(try await TestAgent.connect(s, cluster: "c\(i)", token: tokens["c\(i)"] ?? "")) }
            for round in 1...3 {
                let run = "r\(round)"
                let created = try await s.request(
                    .POST, "/api/v1/run",
                    json:
                        #"{"uuid":"\#(run)","name":"n","flow":\#(Self.flow),"selector":"n","strategy":{"max_parallel":\#(n)}}"#
                )
                #expect(created.status == 200, "\(created.body)")
                let svc = try #require(created.string("service_uuid"))
                for a in agents {
                    #expect(a.uuids(try await a.poll(wait: 5)) == [svc])
                    #expect(try await a.report(svc, seq: 0, status: 2).status == 200)
                }
                // Every agent's final report and the run's cancel at once.
                let statuses = try await withThrowingTaskGroup(of: (String, Int, String).self) { group in
                    for (i, a) in agents.enumerated() {
                        group.addTask {
                            let r = try await a.report(svc, seq: 0, status: i % 2 == 0 ? 4 : 8, error: i % 2 == 0 ? nil : "x")
                            return ("report", r.status, r.body)
                        }
                        if i == n / 2 {
                            group.addTask {
                                let r = try await s.request(.POST, "/api/v1/run/\(run)/cancel")
                                return ("cancel", r.status, r.body)
                            }
                        }
                    }
                    var out: [(String, Int, String)] = []
                    for try await r in group { out.append(r) }
                    return out
                }
                for (what, status, body) in statuses {
                    // A report is accepted (its service was running); a cancel succeeds or finds the run ended.
                    let allowed = what == "report" ? [200] : [200, 409]
                    #expect(allowed.contains(status), "round \(round): \(what) answered \(status): \(body)")
                }
                #expect(try await waitUntil { try await RunAPITests.run(s, run).string("ended") != nil })
                let done = try await RunAPITests.run(s, run)
                let counts = RunAPITests.counts(done)
                #expect(
                    (counts["succeeded"] ?? 0) + (counts["failed"] ?? 0) + (counts["canceled"] ?? 0) == Int64(n),
                    "round \(round): \(done.body)")
            }
        }
    }

    @Test(
        "a like pattern ending in an unpaired escape character is a 400 naming the column on both stores",
        arguments: StoreKind.available)
    func likeDanglingEscape(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            for (path, pattern) in [
                ("/api/v1/cluster", #"cluster-\\"#), ("/api/v1/cluster", #"\\"#), ("/api/v1/service", #"x\\\\\\"#),
                ("/api/v1/run", #"n\\"#),
            ] {
                let r = try await s.request(.GET, TestServer.query(path, q: #"{"like":{"name":"\#(pattern)"}}"#))
                #expect(r.status == 400, "\(path) \(pattern): \(r.status) \(r.body)")
                #expect(r.message.contains(#""name""#) && r.message.contains("unpaired escape"), "\(r.message)")
            }
            // An escaped backslash is a pattern like any other.
            let ok = try await s.request(.GET, TestServer.query("/api/v1/cluster", q: #"{"like":{"name":"cluster-\\\\"}}"#))
            #expect(ok.status == 200 && ok.array.isEmpty, "\(ok.body)")
        }
    }

    @Test(
        "reports wake the webhook deliverer only when a delivery was enqueued: the service's webhook, or its run's at the end",
        arguments: StoreKind.available)
    func reportsWakeDelivererOnlyForWebhooks(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await RunAPITests.fleet(s, 2)
            let hook = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"http://127.0.0.1:9/hook","method":"POST"}"#)
            #expect(hook.status == 200, "\(hook.body)")
            let a1 = try await TestAgent.connect(s, cluster: "c1", token: tokens["c1"] ?? "")
            let a2 = try await TestAgent.connect(s, cluster: "c2", token: tokens["c2"] ?? "")
            let deliveries = {
                try await s.store.database.read { db in try await db.query("SELECT id FROM webhook_delivery").count }
            }

            // A run that names no webhook, in two waves: reports, the release of the second wave
            // and the run's end enqueue nothing and wake nothing.
            let quiet = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"uuid":"r1","name":"n","flow":\#(Self.flow),"cluster_uuids":["c1","c2"],"strategy":{"max_parallel":1}}"#)
            let svc1 = try #require(quiet.string("service_uuid"))
            #expect(a1.uuids(try await a1.poll(wait: 5)) == [svc1])
            var before = s.app.deliverer.pokes
            #expect(try await a1.report(svc1, seq: 0, status: 2).status == 200)
            #expect(try await a1.report(svc1, seq: 0, status: 4).status == 200)
            #expect(s.app.deliverer.pokes == before)
            #expect(a2.uuids(try await a2.poll(wait: 5)) == [svc1])
            before = s.app.deliverer.pokes
            #expect(try await a2.report(svc1, seq: 0, status: 4).status == 200)
            #expect(try await RunAPITests.run(s, "r1").string("state") == "succeeded")
            #expect(s.app.deliverer.pokes == before)
            #expect(try await deliveries() == 0)

            // A run that names one: its last report ends it, enqueues the delivery and wakes the deliverer.
            let loud = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"uuid":"r2","name":"n","flow":\#(Self.flow),"cluster_uuids":["c1"],"webhook":"h1"}"#)
            let svc2 = try #require(loud.string("service_uuid"))
            #expect(a1.uuids(try await a1.poll(wait: 5)) == [svc2])
            before = s.app.deliverer.pokes
            #expect(try await a1.report(svc2, seq: 0, status: 4).status == 200)
            #expect(s.app.deliverer.pokes > before)
            #expect(try await deliveries() == 1)

            // A service that names one: its reports wake the deliverer.
            let named = try await s.request(
                .POST, "/api/v1/cluster/c2/service",
                json: #"{"uuid":"s3","flow":[{"$id":"a","$command":"claiflow.echo"}],"webhook":"h1"}"#)
            #expect(named.status == 200, "\(named.body)")
            #expect(a2.uuids(try await a2.poll(wait: 5)) == ["s3"])
            before = s.app.deliverer.pokes
            #expect(try await a2.report("s3", seq: 0, status: 4).status == 200)
            #expect(s.app.deliverer.pokes > before)
        }
    }
}
