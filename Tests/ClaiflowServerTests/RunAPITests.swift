import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Fleet runs (API)")
struct RunAPITests {
    static let flow = #"[{"$id":"s0","$command":"claiflow.echo"}]"#

    /// Clusters `c1`…`cN` (labels `region` = eu for odd, us for even; `n` = the number) with
    /// tokens; returns the token secrets by cluster.
    static func fleet(_ s: TestServer, _ n: Int) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        for i in 1...n {
            let c = "c\(i)"
            let r = try await s.request(
                .POST, "/api/v1/cluster",
                json: #"{"uuid":"\#(c)","name":"cluster-\#(i)","labels":{"region":"\#(i % 2 == 1 ? "eu" : "us")","n":"\#(i)"}}"#)
            #expect(r.status == 200, "\(r.body)")
            let t = try await s.request(
                .POST, "/api/v1/cluster_token", json: #"{"uuid":"t-\#(c)","name":"agent","cluster_uuid":"\#(c)"}"#)
            tokens[c] = t.string("token")
        }
        return tokens
    }

    static func run(_ s: TestServer, _ uuid: String) async throws -> TestServer.Reply {
        try await s.request(.GET, "/api/v1/run/\(uuid)")
    }

    static func counts(_ r: TestServer.Reply) -> [String: Int64] {
        guard case .object(let o) = r.json?.field("counts") else { return [:] }
        return o.compactMapValues { if case .integer(let i) = $0 { i } else { nil } }
    }

    static func clusterStatuses(_ r: TestServer.Reply) -> [String: String] {
        guard case .array(let rows) = r.json?.field("clusters") else { return [:] }
        var out: [String: String] = [:]
        for row in rows {
            if case .string(let c) = row.field("cluster_uuid"), case .string(let st) = row.field("status") { out[c] = st }
        }
        return out
    }

    /// Rows in the run, run_cluster and service tables.
    static func rowCounts(_ s: TestServer) async throws -> [Int64] {
        try await s.store.database.read { db in
            var out: [Int64] = []
            for t in ["run", "run_cluster", "service"] {
                out.append(try await db.first(SQL(stringLiteral: "SELECT COUNT(*) AS n FROM \(t)"))?.integer("n") ?? -1)
            }
            return out
        }
    }

    @Test(
        "waves never exceed max_parallel with agents that hold each service a moment; the run succeeds",
        arguments: StoreKind.available)
    func waves(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await Self.fleet(s, 6)
            var agents: [String: TestAgent] = [:]
            for (c, t) in tokens { agents[c] = try await TestAgent.connect(s, cluster: c, token: t) }
            let created = try await s.request(
                .POST, "/api/v1/run",
                json:
                    #"{"uuid":"r1","name":"rollout","flow":\#(Self.flow),"selector":"region in (eu,us)","strategy":{"max_parallel":2}}"#
            )
            #expect(created.status == 200, "\(created.body)")
            #expect(created.string("state") == "running")
            #expect(Self.counts(created)["total"] == 6 && Self.counts(created)["pending"] == 6)
            let serviceUUID = try #require(created.string("service_uuid"))
            // The first wave: of six agents asking in turn, the first two clusters' get the service.
            let inFlight = InFlight()
            var holding: Set<String> = []
            for (c, agent) in agents.sorted(by: { $0.key < $1.key }) {
                let got = agent.uuids(try await agent.poll(wait: 0))
                if !got.isEmpty {
                    #expect(got == [serviceUUID])
                    holding.insert(c)
                    inFlight.began()
                }
            }
            #expect(holding == ["c1", "c2"])
            // Then all of them at once: each holds its service a moment, reports, and the next is released.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (c, agent) in agents {
                    let hasOne = holding.contains(c)
                    group.addTask {
                        if !hasOne {
                            while agent.uuids(try await agent.poll(limit: 10, wait: 10)) != [serviceUUID] {}
                            inFlight.began()
                        }
                        // The agent works on it a moment (not a synchronisation: the waves are).
                        try await Task.sleep(for: .milliseconds(50))
                        inFlight.ended()
                        let r = try await agent.report(serviceUUID, seq: 0, status: 4, result: #"{"ok":true}"#)
                        #expect(r.status == 200, "\(r.body)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(inFlight.maximum == 2)
            let done = try await Self.run(s, "r1")
            #expect(done.string("state") == "succeeded", "\(done.body)")
            #expect(done.string("ended") != nil)
            #expect(Self.counts(done)["succeeded"] == 6 && Self.counts(done)["total"] == 6)
            guard case .array(let rows) = done.json?.field("clusters") else { throw ClaiflowError(.internal, "no clusters") }
            #expect(rows.allSatisfy { $0.field("started") != nil && $0.field("ended") != nil })
            let list = try await s.request(.GET, "/api/v1/run")
            #expect(list.array.count == 1 && list.array.first?.field("state") == .string("succeeded"))
        }
    }

    @Test(
        "past max_failures the run stops: nothing more starts, the rest end canceled saying why", arguments: StoreKind.available)
    func threshold(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await Self.fleet(s, 4)
            let a1 = try await TestAgent.connect(s, cluster: "c1", token: tokens["c1"] ?? "")
            let a2 = try await TestAgent.connect(s, cluster: "c2", token: tokens["c2"] ?? "")
            let created = try await s.request(
                .POST, "/api/v1/run",
                json:
                    #"{"uuid":"r1","name":"risky","flow":\#(Self.flow),"cluster_uuids":["c1","c2","c3","c4"],"strategy":{"max_parallel":1,"max_failures":"0%"}}"#
            )
            #expect(created.status == 200, "\(created.body)")
            let svc = try #require(created.string("service_uuid"))
            // c2's service is held: its agent gets nothing.
            #expect(a2.uuids(try await a2.poll(wait: 0)) == [])
            #expect(a1.uuids(try await a1.poll(wait: 0)) == [svc])
            #expect(try await a1.report(svc, seq: 0, status: 8, error: "boom").status == 200)
            let r = try await Self.run(s, "r1")
            #expect(r.string("state") == "stopped", "\(r.body)")
            #expect(r.string("ended") != nil)
            #expect(Self.clusterStatuses(r) == ["c1": "failed", "c2": "canceled", "c3": "canceled", "c4": "canceled"])
            #expect(Self.counts(r)["failed"] == 1 && Self.counts(r)["canceled"] == 3)
            #expect(try await AgentAPITests.statuses(s, svc, cluster: "c3") == [0, 16])
            let detail = try await s.request(.GET, "/api/v1/cluster/c3/service/\(svc)")
            #expect(detail.body.contains("more than max_failures (0)"), "\(detail.body)")
            #expect(a2.uuids(try await a2.poll(wait: 0)) == [])
            #expect(try await s.request(.POST, "/api/v1/run/r1/cancel").status == 409)
        }
    }

    @Test(
        "$cluster references in inputs are each cluster's own; inputs failing for some clusters are a 400 listing them",
        arguments: StoreKind.available)
    func clusterInputs(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await Self.fleet(s, 3)
            let schema =
                #"{"type":"object","properties":{"region":{"type":"string","enum":["eu","us"]},"who":{"type":"string"}},"required":["region"]}"#
            let flow = #"[{"$id":"s1","$command":"claiflow.echo","inputs":{"msg":"$inputs.region"}}]"#
            let t = try await s.request(
                .POST, "/api/v1/template", json: #"{"uuid":"tpl","name":"echo","flow":\#(flow),"inputs":\#(schema)}"#)
            #expect(t.status == 200, "\(t.body)")
            let created = try await s.request(
                .POST, "/api/v1/run",
                json:
                    #"{"uuid":"r1","name":"labels","template_uuid":"tpl","selector":"n","inputs":{"region":"$cluster.labels.region","who":"$cluster.name"}}"#
            )
            #expect(created.status == 200, "\(created.body)")
            let svc = try #require(created.string("service_uuid"))
            for (c, region, name) in [("c1", "eu", "cluster-1"), ("c2", "us", "cluster-2")] {
                let d = try await s.request(.GET, "/api/v1/cluster/\(c)/service/\(svc)")
                #expect(d.json?.field("inputs") == .object(["region": .string(region), "who": .string(name)]), "\(d.body)")
            }
            // c4 has no region label, c5 one the schema refuses: 400 naming both, nothing written.
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c4","name":"bare","labels":{"n":"4"}}"#)
            _ = try await s.request(
                .POST, "/api/v1/cluster", json: #"{"uuid":"c5","name":"asia","labels":{"n":"5","region":"ap"}}"#)
            let before = try await Self.rowCounts(s)
            let bad = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"name":"labels","template_uuid":"tpl","selector":"n","inputs":{"region":"$cluster.labels.region"}}"#)
            #expect(bad.status == 400)
            #expect(bad.message.hasPrefix("field \"inputs\": does not hold for 2 of the 5 clusters"), "\(bad.body)")
            #expect(bad.message.contains("cluster \"c4\" (bare): it has no label \"region\""))
            #expect(bad.message.contains("cluster \"c5\" (asia): "))
            #expect(try await Self.rowCounts(s) == before)
        }
    }

    @Test(
        "the result merges every cluster's JSON result; ?reduce= runs jq over it; a bad program is a 400 with jq's message",
        arguments: StoreKind.available)
    func result(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await Self.fleet(s, 3)
            _ = try await s.request(.PUT, "/api/v1/cluster/c3", json: #"{"paused":true}"#)
            let created = try await s.request(
                .POST, "/api/v1/run", json: #"{"uuid":"r1","name":"pods","flow":\#(Self.flow),"selector":"region"}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(Self.clusterStatuses(created)["c3"] == "skipped")
            let svc = try #require(created.string("service_uuid"))
            for (c, pods) in [("c1", 3), ("c2", 4)] {
                let a = try await TestAgent.connect(s, cluster: c, token: tokens[c] ?? "")
                #expect(a.uuids(try await a.poll(wait: 5)) == [svc])
                #expect(try await a.report(svc, seq: 0, status: 4, result: #"{"pods":\#(pods)}"#).status == 200)
            }
            let r = try await s.request(.GET, "/api/v1/run/r1/result")
            #expect(r.status == 200)
            guard case .array(let rows) = r.json?.field("clusters") else { throw ClaiflowError(.internal, r.body) }
            #expect(rows.count == 3)
            #expect(rows[0].field("cluster")?.field("labels")?.field("region") == .string("eu"))
            #expect(rows[0].field("result") == .object(["pods": .integer(3)]))
            #expect(rows[0].field("status") == .string("succeeded"))
            #expect(rows[2].field("status") == .string("skipped") && rows[2].field("result") == nil)
            let query = "map(.result.pods // 0) | add".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let reduced = try await s.request(.GET, "/api/v1/run/r1/result?reduce=\(query)")
            #expect(reduced.json == .object(["result": .integer(7)]), "\(reduced.body)")
            let grouped =
                "group_by(.cluster.labels.region) | map(length)".addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics) ?? ""
            #expect(
                try await s.request(.GET, "/api/v1/run/r1/result?reduce=\(grouped)").json
                    == .object(["result": .array([.integer(2), .integer(1)])]))
            let bad = try await s.request(.GET, "/api/v1/run/r1/result?reduce=map(.result")
            #expect(bad.status == 400)
            #expect(bad.message.hasPrefix("parameter reduce: "), "\(bad.body)")
            #expect(try await s.request(.GET, "/api/v1/run/nope/result").status == 404)
        }
    }

    @Test(
        "cancel: held and queued services end canceled, a running one is asked to stop; the run ends canceled",
        arguments: StoreKind.available)
    func cancel(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await Self.fleet(s, 3)
            let a1 = try await TestAgent.connect(s, cluster: "c1", token: tokens["c1"] ?? "")
            let created = try await s.request(
                .POST, "/api/v1/run",
                json:
                    #"{"uuid":"r1","name":"c","flow":\#(Self.flow),"cluster_uuids":["c1","c2","c3"],"strategy":{"max_parallel":2}}"#
            )
            let svc = try #require(created.string("service_uuid"))
            #expect(a1.uuids(try await a1.poll(wait: 0)) == [svc])
            let canceled = try await s.request(.POST, "/api/v1/run/r1/cancel")
            #expect(canceled.status == 200, "\(canceled.body)")
            #expect(canceled.string("state") == "canceled")
            #expect(canceled.string("ended") == nil)
            #expect(Self.clusterStatuses(canceled) == ["c1": "running", "c2": "canceled", "c3": "canceled"])
            // The running one is told to stop by its next report, and ends canceled.
            let r = try await a1.report(svc, seq: 0, status: 2)
            #expect(r.status == 200)
            #expect(
                try await waitUntil { try await Self.run(s, "r1").string("ended") != nil })
            let done = try await Self.run(s, "r1")
            #expect(done.string("state") == "canceled")
            #expect(Self.counts(done)["canceled"] == 3)
        }
    }

    @Test(
        "include_paused: a paused cluster's service is created but reaches its agent only when the cluster is resumed",
        arguments: StoreKind.available)
    func includePaused(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let tokens = try await Self.fleet(s, 2)
            let a1 = try await TestAgent.connect(s, cluster: "c1", token: tokens["c1"] ?? "")
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":true}"#).status == 200)
            let created = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"uuid":"r1","name":"p","flow":\#(Self.flow),"cluster_uuids":["c1","c2"],"include_paused":true}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(Self.clusterStatuses(created) == ["c1": "pending", "c2": "pending"])
            let svc = try #require(created.string("service_uuid"))
            #expect(a1.uuids(try await a1.poll(wait: 0)) == [])
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":false}"#).status == 200)
            #expect(a1.uuids(try await a1.poll(wait: 5)) == [svc])
            // The run's services are listed by run_uuid.
            let q = #"{"eq":{"run_uuid":"r1"}}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let listed = try await s.request(.GET, "/api/v1/service?q=\(q)")
            #expect(listed.array.count == 2, "\(listed.body)")
        }
    }

    @Test(
        "cluster_timeout: a released service no agent picks up ends expired; the run ends failed", arguments: StoreKind.available)
    func clusterTimeout(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await Self.fleet(s, 2)
            let created = try await s.request(
                .POST, "/api/v1/run",
                json:
                    #"{"uuid":"r1","name":"t","flow":\#(Self.flow),"cluster_uuids":["c1","c2"],"strategy":{"max_parallel":1,"cluster_timeout":"1s"}}"#
            )
            #expect(created.status == 200, "\(created.body)")
            #expect(try await waitUntil(timeout: .seconds(20)) { try await Self.run(s, "r1").string("ended") != nil })
            let done = try await Self.run(s, "r1")
            #expect(done.string("state") == "failed", "\(done.body)")
            #expect(Self.clusterStatuses(done) == ["c1": "expired", "c2": "expired"])
        }
    }

    @Test("the run's webhook gets one delivery when it ends, with the run as its payload")
    func webhook() async throws {
        try await TestServer.with { s in
            let tokens = try await Self.fleet(s, 1)
            let hook = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"http://127.0.0.1:9/hook","method":"POST"}"#)
            #expect(hook.status == 200, "\(hook.body)")
            let created = try await s.request(
                .POST, "/api/v1/run", json: #"{"uuid":"r1","name":"w","flow":\#(Self.flow),"selector":"n=1","webhook":"h1"}"#)
            let svc = try #require(created.string("service_uuid"))
            let a = try await TestAgent.connect(s, cluster: "c1", token: tokens["c1"] ?? "")
            #expect(a.uuids(try await a.poll(wait: 5)) == [svc])
            #expect(try await a.report(svc, seq: 0, status: 4).status == 200)
            let payloads = try await s.store.database.read { db in
                try await db.query("SELECT payload FROM webhook_delivery WHERE service_uuid = 'r1'").map {
                    try $0.text("payload")
                }
            }
            #expect(payloads.count == 1)
            let payload = try JSONValue.parse(payloads.first ?? "")
            #expect(payload.field("uuid") == .string("r1") && payload.field("state") == .string("succeeded"))
            #expect(payload.field("clusters") != nil)
        }
    }

    @Test("roles: a viewer reads runs and their results, an operator creates and cancels them")
    func roles() async throws {
        try await TestServer.with { s in
            _ = try await Self.fleet(s, 1)
            let viewer = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"v","role":"viewer"}"#).string("key"))
            let op = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"o","role":"operator"}"#).string("key"))
            let body = #"{"uuid":"r1","name":"x","flow":\#(Self.flow),"cluster_uuids":["c1"]}"#
            let denied = try await s.request(.POST, "/api/v1/run", json: body, key: viewer)
            #expect(denied.status == 403)
            #expect(try await Self.rowCounts(s) == [0, 0, 0])
            #expect(try await s.request(.POST, "/api/v1/run", json: body, key: op).status == 200)
            for path in ["/api/v1/run", "/api/v1/run/r1", "/api/v1/run/r1/result"] {
                #expect(try await s.request(.GET, path, key: viewer).status == 200, "\(path)")
            }
            #expect(try await s.request(.POST, "/api/v1/run/r1/cancel", key: viewer).status == 403)
            #expect(try await s.request(.POST, "/api/v1/run/r1/cancel", key: op).status == 200)
        }
    }

    static let badBodies: [(String, String)] = [
        (#"{"flow":\#(flow),"cluster_uuids":["c1"]}"#, "field \"name\": is required"),
        (#"{"name":"x","cluster_uuids":["c1"]}"#, "field \"template_uuid\": is required"),
        (#"{"name":"x","flow":\#(flow),"template_uuid":"t","cluster_uuids":["c1"]}"#, "give either template_uuid or flow"),
        (
            #"{"name":"x","template_uuid":"nope","cluster_uuids":["c1"]}"#,
            "field \"template_uuid\": template \"nope\" does not exist"
        ),
        (#"{"name":"x","flow":\#(flow)}"#, "field \"selector\": is required"),
        (#"{"name":"x","flow":\#(flow),"selector":"region","cluster_uuids":["c1"]}"#, "give either selector or cluster_uuids"),
        (#"{"name":"x","flow":\#(flow),"cluster_uuids":[]}"#, "field \"cluster_uuids\": must name at least one cluster"),
        (#"{"name":"x","flow":\#(flow),"cluster_uuids":["c1","c1"]}"#, "field \"cluster_uuids\": cluster \"c1\" is listed twice"),
        (#"{"name":"x","flow":\#(flow),"cluster_uuids":["c9"]}"#, "field \"cluster_uuids\": cluster \"c9\" does not exist"),
        (#"{"name":"x","flow":\#(flow),"selector":"region=mars"}"#, "field \"selector\": selects no cluster"),
        (#"{"name":"x","flow":\#(flow),"selector":""}"#, "field \"selector\": must not be empty"),
        (#"{"name":"x","flow":\#(flow),"selector":"region in (eu"}"#, "selector: "),
        (#"{"name":"x","flow":\#(flow),"selector":"region","strategy":{"max_parallel":0}}"#, "field \"strategy.max_parallel\""),
        (
            #"{"name":"x","flow":\#(flow),"selector":"region","strategy":{"max_failures":"x%"}}"#,
            "field \"strategy.max_failures\""
        ),
        (
            #"{"name":"x","flow":\#(flow),"selector":"region","strategy":{"cluster_timeout":3}}"#,
            "field \"strategy.cluster_timeout\""
        ),
        (
            #"{"name":"x","flow":\#(flow),"selector":"region","webhook":"nope"}"#,
            "field \"webhook\": webhook \"nope\" does not exist"
        ),
        (#"{"name":"x","flow":\#(flow),"selector":"region","inputs":[1]}"#, "field \"inputs\": must be an object"),
        (
            #"{"name":"x","flow":\#(flow),"selector":"region","include_paused":"yes"}"#,
            "field \"include_paused\": must be a boolean"
        ),
        (#"{"name":"x","flow":[{"$id":"a"}],"selector":"region"}"#, "field \"flow\": "),
    ]

    @Test("bad input is a 400 naming the field, and writes nothing", arguments: StoreKind.available)
    func badInput(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await Self.fleet(s, 2)
            let before = try await Self.rowCounts(s)
            #expect(before == [0, 0, 0])
            for (body, message) in Self.badBodies {
                let r = try await s.request(.POST, "/api/v1/run", json: body)
                #expect(r.status == 400, "\(body): \(r.body)")
                #expect(r.message.hasPrefix(message), "\(body): \(r.body)")
            }
            #expect(try await Self.rowCounts(s) == before)
            #expect(try await s.request(.GET, "/api/v1/run/nope").status == 404)
            #expect(try await s.request(.POST, "/api/v1/run/nope/cancel").status == 404)
        }
    }
}

/// Services agents hold at once, and the most at any moment.
final class InFlight: Sendable {
    private let counts = Mutex<(now: Int, max: Int)>((0, 0))

    func began() {
        counts.withLock { c in
            c.now += 1
            c.max = max(c.max, c.now)
        }
    }

    func ended() { counts.withLock { $0.now -= 1 } }

    var maximum: Int { counts.withLock { $0.max } }
}
