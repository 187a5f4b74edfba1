import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@testable import ClaiflowServer

/// A REST agent as the original's protocol describes it.
struct TestAgent: Sendable {
    let server: TestServer
    let jwt: String

    static func connect(_ s: TestServer, cluster: String, token: String, version: String = "v1") async throws -> TestAgent {
        let r = try await s.request(
            .POST, "/api/v1/client/auth",
            json:
                #"{"cluster_uuid":"\#(cluster)","assertion":"\#(token)","client_version":"\#(version)","client_lib_version":"0.1.0"}"#,
            key: nil)
        guard r.status == 200, let jwt = r.string("access_token") else {
            throw ClaiflowError(.internal, "auth failed: \(r.status) \(r.body)")
        }
        return TestAgent(server: s, jwt: jwt)
    }

    func poll(limit: Int = 10, wait: Double = 0) async throws -> TestServer.Reply {
        try await server.request(.GET, "/api/v1/client/service?limit=\(limit)&wait=\(wait)", key: jwt)
    }

    func uuids(_ r: TestServer.Reply) -> [String] {
        r.array.compactMap { if case .string(let u) = $0.field("uuid") { u } else { nil } }
    }

    func report(
        _ uuid: String, seq: Int, status: Int, result: String? = "", error: String? = nil,
        started: String = "2026-01-01T00:00:00Z", ended: String? = nil
    ) async throws -> TestServer.Reply {
        var body = #"{"uuid":"\#(uuid)","sequence":\#(seq),"status":\#(status),"started":"\#(started)""#
        if let result { body += #","result":\#(JSONValue.string(result).serialized())"# }
        if let error { body += #","error":"\#(error)""# }
        if let ended { body += #","ended":"\#(ended)""# }
        body += "}"
        return try await server.request(.PUT, "/api/v1/client/service", json: body, key: jwt)
    }
}

@Suite("Agent API and dispatch")
struct AgentAPITests {
    /// A cluster `c1` with a token; returns the token secret.
    static func setUp(_ s: TestServer, cluster: String = "c1") async throws -> String {
        _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"\#(cluster)","name":"\#(cluster)"}"#)
        let t = try await s.request(
            .POST, "/api/v1/cluster_token", json: #"{"uuid":"t-\#(cluster)","name":"agent","cluster_uuid":"\#(cluster)"}"#)
        return try #require(t.string("token"))
    }

    static func create(_ s: TestServer, _ uuid: String, cluster: String = "c1", steps: Int = 1, priority: Int = 0) async throws {
        let flow = (0..<steps).map { #"{"$id":"s\#($0)","$command":"claiflow.echo"}"# }.joined(separator: ",")
        let r = try await s.request(
            .POST, "/api/v1/cluster/\(cluster)/service", json: #"{"uuid":"\#(uuid)","flow":[\#(flow)],"priority":\#(priority)}"#)
        #expect(r.status == 200, "\(r.body)")
    }

    static func statuses(_ s: TestServer, _ uuid: String, cluster: String = "c1") async throws -> [Int64] {
        let d = try await s.request(.GET, "/api/v1/cluster/\(cluster)/service/\(uuid)")
        guard case .array(let rows) = d.json?.field("statuses") else { return [] }
        return rows.compactMap { if case .integer(let i) = $0.field("status") { i } else { nil } }
    }

    @Test("handshake: the original's body and reply, the JWT's claims, a session row with the versions")
    func handshake() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let r = try await s.request(
                .POST, "/api/v1/client/auth",
                json: #"{"cluster_uuid":"c1","assertion":"\#(token)","client_version":"v9","client_lib_version":"0.1.0"}"#,
                key: nil)
            #expect(r.status == 200)
            #expect(r.string("token_type") == "Bearer")
            let jwt = try #require(r.string("access_token"))
            #expect(r.headers.first(name: "x-sudory-client-token") == jwt)
            guard case .integer(let expiresIn) = r.json?.field("expires_in") else {
                Issue.record("no expires_in")
                return
            }
            #expect(expiresIn > 0 && expiresIn <= 24 * 3600)
            var payload = String(jwt.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(
                of: "_", with: "/")
            while payload.count % 4 != 0 { payload += "=" }
            let claims = try JSONValue.parse(Array(Data(base64Encoded: payload) ?? Data()))
            #expect(claims.field("cluster-uuid") == .string("c1"))
            // The session window (ClientSession/ExpirationTime, 1m by default) in seconds.
            #expect(r.json?.field("session_expiration") == .integer(60))
            #expect(claims.field("cluster-client-token-uuid") == .string("t-c1"))
            #expect(claims.field("client-version") == .string("v9"))
            #expect(claims.field("client_lib_version") == .string("0.1.0"))
            guard case .string(let sessionUUID) = claims.field("uuid") else {
                Issue.record("no uuid claim")
                return
            }
            let session = try await s.request(.GET, "/api/v1/session/\(sessionUUID)")
            #expect(session.string("client_version") == "v9")
            let alive = try await s.request(.GET, "/api/v1/cluster/c1/session/alive")
            #expect(alive.json?.field("alive") == .bool(true))
            #expect(alive.string("clientVersion") == "v9")

            let wrong = try await s.request(
                .POST, "/api/v1/client/auth", json: #"{"cluster_uuid":"c1","assertion":"nope"}"#, key: nil)
            #expect(wrong.status == 400)
            let otherCluster = try await s.request(
                .POST, "/api/v1/client/auth", json: #"{"cluster_uuid":"c2","assertion":"\#(token)"}"#, key: nil)
            #expect(otherCluster.status == 400)
            _ = try await s.request(.PUT, "/api/v1/cluster_token/t-c1/expire")
            let expired = try await s.request(
                .POST, "/api/v1/client/auth", json: #"{"cluster_uuid":"c1","assertion":"\#(token)"}"#, key: nil)
            #expect(expired.status == 400)
            #expect(expired.message.contains("expired"))
        }
    }

    @Test("per-call auth: missing, forged, the legacy header, an expired, deleted or rotated token")
    func perCallAuth() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(try await s.request(.GET, "/api/v1/client/service", key: nil).status == 401)
            #expect(try await s.request(.GET, "/api/v1/client/service", key: agent.jwt + "x").status == 401)
            let legacy = try await s.request(
                .GET, "/api/v1/client/service?wait=0", key: nil, headers: [("x-sudory-client-token", agent.jwt)])
            #expect(legacy.status == 200)
            #expect(legacy.body == "[]\n")
            // Operator keys are not session tokens.
            #expect(try await s.request(.GET, "/api/v1/client/service", key: TestServer.adminToken).status == 401)
            _ = try await s.request(.PUT, "/api/v1/cluster_token/t-c1", json: #"{"token":"a-brand-new-secret-0123"}"#)
            #expect(try await agent.poll().status == 401)
            let again = try await TestAgent.connect(s, cluster: "c1", token: "a-brand-new-secret-0123")
            #expect(try await again.poll().status == 200)
            _ = try await s.request(.DELETE, "/api/v1/cluster_token/t-c1")
            #expect(try await again.poll().status == 401)
        }
    }

    @Test("poll: queued services at once, priority first, each marked sent with its session", arguments: StoreKind.available)
    func pollQueued(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await Self.setUp(s)
            try await Self.create(s, "low1")
            try await Self.create(s, "high", priority: 2)
            try await Self.create(s, "low2")
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let first = try await agent.poll(limit: 2)
            #expect(agent.uuids(first) == ["high", "low1"])
            let item = try #require(first.array.first)
            #expect(item.field("flow") != nil && item.field("step_max") == .integer(1))
            #expect(first.body.contains(#""inputs":null"#))
            #expect(!first.body.contains("pdate"))
            #expect(try await Self.statuses(s, "high") == [0, 1])
            #expect(agent.uuids(try await agent.poll(limit: 5)) == ["low2"])
            #expect(try await agent.poll(limit: 5, wait: 0).body == "[]\n")
        }
    }

    @Test(
        "a parked poll wakes within milliseconds of a create, and returns [] when its wait passes", arguments: StoreKind.available
    )
    func parkedPollWakes(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await Self.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let start = ContinuousClock.now
            let empty = try await agent.poll(wait: 0.3)
            #expect(empty.body == "[]\n")
            #expect(ContinuousClock.now - start >= .milliseconds(280))

            async let parked = agent.poll(wait: 20)
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            let created = ContinuousClock.now
            try await Self.create(s, "wake-me")
            let reply = try await parked
            let latency = ContinuousClock.now - created
            #expect(agent.uuids(reply) == ["wake-me"])
            #expect(latency < .seconds(2), "pickup took \(latency)")
        }
    }

    @Test("a parked poll whose client went away leaves at once and claims nothing: the next agent gets the service")
    func goneClientClaimsNothing() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let gone = try await TestAgent.connect(s, cluster: "c1", token: token)
            let next = try await TestAgent.connect(s, cluster: "c1", token: token)
            let parked = Task { try await gone.poll(wait: 30) }
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            parked.cancel()  // AsyncHTTPClient closes the connection
            #expect(try await waitUntil(timeout: .seconds(5)) { s.app.agents.parkedPolls == 0 })
            try await Self.create(s, "after")
            #expect(next.uuids(try await next.poll(wait: 5)) == ["after"])
        }
    }

    @Test("a parked poll ends promptly when the server shuts down")
    func shutdownEndsParkedPoll() async throws {
        let (parked, stopping): (Task<Int, any Error>, ContinuousClock.Instant) = try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let task = Task { try await agent.poll(wait: 50).status }
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            return (task, ContinuousClock.now)
        }
        // Not ended, the poll would hold the shutdown for its 50 s wait; the bound leaves room
        // for a loaded machine (the suite runs the chaos test alongside).
        #expect(ContinuousClock.now - stopping < .seconds(25))
        #expect(try await parked.value == 200)
    }

    @Test("two agents on one cluster never get the same service", arguments: StoreKind.available)
    func exclusiveClaims(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await Self.setUp(s)
            for i in 0..<60 { try await Self.create(s, "svc\(i)") }
            let a = try await TestAgent.connect(s, cluster: "c1", token: token)
            let b = try await TestAgent.connect(s, cluster: "c1", token: token)
            let got = try await withThrowingTaskGroup(of: [String].self) { group in
                for agent in [a, b, a, b] {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let r = agent.uuids(try await agent.poll(limit: 3, wait: 0))
                            if r.isEmpty { return mine }
                            mine += r
                        }
                    }
                }
                var all: [String] = []
                for try await part in group { all += part }
                return all
            }
            #expect(got.count == 60)
            #expect(Set(got).count == 60)
        }
    }

    @Test("reports: the stored-status rule, the result, duplicates, finished and foreign services")
    func reports() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            _ = try await Self.setUp(s, cluster: "c2")
            try await Self.create(s, "two", steps: 2)
            try await Self.create(s, "theirs", cluster: "c2")
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(agent.uuids(try await agent.poll()) == ["two"])
            #expect(try await agent.report("two", seq: 0, status: 2).status == 200)
            let dup = try await agent.report("two", seq: 0, status: 2)
            #expect(dup.status == 200)
            #expect(
                try await agent.report("two", seq: 0, status: 4, result: #"{"a":1}"#, ended: "2026-01-01T00:00:01Z").status == 200
            )
            #expect(try await agent.report("two", seq: 1, status: 2).status == 200)
            // `result` may be absent.
            #expect(try await agent.report("two", seq: 1, status: 2, result: nil, started: "2026-01-01T00:00:02Z").status == 200)
            let final = try await agent.report("two", seq: 1, status: 4, result: #"{"done":true}"#, ended: "2026-01-01T00:00:03Z")
            #expect(final.status == 200)
            #expect(final.body == "\"OK\"\n")
            #expect(try await Self.statuses(s, "two") == [0, 1, 2, 2, 2, 2, 4])
            let result = try await s.request(.GET, "/api/v1/cluster/c1/service/two/result")
            #expect(result.string("result") == #"{"done":true}"#)
            // The same final report again changes nothing; another one is refused.
            #expect(
                try await agent.report("two", seq: 1, status: 4, result: #"{"done":true}"#, ended: "2026-01-01T00:00:03Z").status
                    == 200)
            #expect(try await Self.statuses(s, "two").count == 7)
            #expect(try await agent.report("two", seq: 1, status: 8, error: "late").status == 409)
            #expect(try await agent.report("theirs", seq: 0, status: 2).status == 404)
            #expect(try await agent.report("never", seq: 0, status: 2).status == 404)
            let bad = try await agent.report("two", seq: 0, status: 3)
            #expect(bad.status == 400)
            #expect(bad.message.contains("status"))
        }
    }

    @Test("an agent that authenticates again (a newer session of the same token) keeps reporting its running services")
    func newerSessionTakesOver() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            try await Self.create(s, "long", steps: 2)
            let first = try await TestAgent.connect(s, cluster: "c1", token: token)
            _ = try await first.poll()
            _ = try await first.report("long", seq: 0, status: 2)
            let again = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(try await again.report("long", seq: 0, status: 4, result: "{}", ended: "2026-01-01T00:00:01Z").status == 200)
            // The older session cannot take it back.
            #expect(try await first.report("long", seq: 1, status: 2).status == 409)
            #expect(try await again.report("long", seq: 1, status: 4, result: "{}", ended: "2026-01-01T00:00:02Z").status == 200)
            #expect(try await Self.statuses(s, "long").last == 4)
        }
    }

    @Test("a failing step ends the service failed with its message")
    func failure() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            try await Self.create(s, "f", steps: 3)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            _ = try await agent.poll()
            _ = try await agent.report("f", seq: 0, status: 2)
            _ = try await agent.report("f", seq: 0, status: 8, error: "pods is forbidden", ended: "2026-01-01T00:00:01Z")
            let d = try await s.request(.GET, "/api/v1/cluster/c1/service/f")
            #expect(d.json?.field("status") == .integer(8))
            guard case .array(let rows) = d.json?.field("statuses") else { return }
            #expect(rows.last?.field("message") == .string("pods is forbidden"))
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/f/result").status == 404)
        }
    }

    @Test("cancel of a running service: the next report tells the agent to stop, the service ends canceled")
    func cancelRunning() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            try await Self.create(s, "long", steps: 3)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            _ = try await agent.poll()
            _ = try await agent.report("long", seq: 0, status: 2)
            #expect(
                try await s.request(.POST, "/api/v1/cluster/c1/service/long/cancel").json?.field("cancel_requested")
                    == .bool(true))
            let r = try await agent.report("long", seq: 0, status: 4, result: "{}", ended: "2026-01-01T00:00:01Z")
            #expect(r.status == 200)
            #expect(r.headers.first(name: "X-Claiflow-Cancel") == "true")
            #expect(try await Self.statuses(s, "long") == [0, 1, 2, 2, 16])
            #expect(try await agent.report("long", seq: 1, status: 2).status == 409)
        }
    }

    @Test("nothing is lost: a stopped agent's sent service is offered again, a processing one ends agent lost")
    func leases() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let g = KnownGlobalVariable.clientSessionExpirationTime.uuid
            // 3 s leases: the report below must reach the server before the lease of the poll
            // lapses, which a 1 s lease did not leave room for while the whole suite ran.
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"3s"}"#).status == 200)
            try await Self.create(s, "sent-only")
            try await Self.create(s, "running")
            let dead = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(Set(dead.uuids(try await dead.poll(limit: 2))) == ["sent-only", "running"])
            #expect(try await dead.report("running", seq: 0, status: 2).status == 200)
            // The agent goes silent: its leases lapse after ~3s and the sweeper acts.
            #expect(try await waitUntil(timeout: .seconds(10)) { try await Self.statuses(s, "running").last == 8 })
            let d = try await s.request(.GET, "/api/v1/cluster/c1/service/running")
            guard case .array(let rows) = d.json?.field("statuses"), case .string(let msg) = rows.last?.field("message") else {
                Issue.record("no message")
                return
            }
            #expect(msg.contains("agent lost"))
            #expect(try await waitUntil(timeout: .seconds(10)) { try await Self.statuses(s, "sent-only").last == 0 })
            let fresh = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(fresh.uuids(try await fresh.poll()) == ["sent-only"])
            // The old agent's late report for it is refused: it is not its service any more.
            #expect(try await dead.report("sent-only", seq: 0, status: 2).status == 409)
        }
    }

    @Test(
        "a poll answer the agent never received: the still-polling session's keep-alives do not hold the sent service, it is offered again within one window; a processing one stays held"
    )
    func lostPollAnswer() async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let g = KnownGlobalVariable.clientSessionExpirationTime.uuid
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"4s"}"#).status == 200)
            try await Self.create(s, "lost")
            try await Self.create(s, "running")
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            // The agent receives "running" only: the answer carrying "lost" is as good as dropped.
            #expect(Set(agent.uuids(try await agent.poll(limit: 2))) == ["lost", "running"])
            _ = try await agent.report("running", seq: 0, status: 2)
            let claimed = ContinuousClock.now
            // The agent keeps polling (each poll a contact) until "lost" comes back.
            var offeredAgain = false
            let back = try await waitUntil(timeout: .seconds(20)) {
                offeredAgain = agent.uuids(try await agent.poll(wait: 1)).contains("lost")
                return offeredAgain
            }
            #expect(back)
            #expect(ContinuousClock.now - claimed < .seconds(8), "offered again within about one window (4 s)")
            #expect(try await Self.statuses(s, "lost") == [0, 1, 0, 1])
            // The session's contacts kept the running service's lease alive meanwhile.
            #expect(try await Self.statuses(s, "running") == [0, 1, 2])
        }
    }

    @Test("a service not picked up within the validity period ends expired")
    func validity() async throws {
        try await TestServer.with { s in
            _ = try await Self.setUp(s)
            let g = KnownGlobalVariable.clientConfigServiceValidityPeriod.uuid
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"1s"}"#).status == 200)
            try await Self.create(s, "stale")
            #expect(try await waitUntil(timeout: .seconds(10)) { try await Self.statuses(s, "stale") == [0, 32] })
            let listed = try await s.request(.GET, "/api/v1/service?status=expired")
            #expect(listed.array.count == 1)
        }
    }

    @Test("expiring or deleting the token ends a parked poll with 401 within seconds", arguments: ["expire", "delete"])
    func revokeParked(action: String) async throws {
        try await TestServer.with { s in
            let token = try await Self.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            async let parked = agent.poll(wait: 30)
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            let start = ContinuousClock.now
            if action == "expire" {
                _ = try await s.request(.PUT, "/api/v1/cluster_token/t-c1/expire")
            } else {
                _ = try await s.request(.DELETE, "/api/v1/cluster_token/t-c1")
            }
            let r = try await parked
            #expect(r.status == 401)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test("across replicas on PostgreSQL: a create on one wakes a poll parked on the other; claims stay exclusive")
    func replicas() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixtureURL.fresh(.postgres)
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                let token = try await Self.setUp(a)
                let onB = try await TestAgent.connect(b, cluster: "c1", token: token)
                async let parked = onB.poll(wait: 20)
                #expect(try await waitUntil { b.app.agents.parkedPolls == 1 })
                let created = ContinuousClock.now
                try await Self.create(a, "cross")
                let reply = try await parked
                #expect(onB.uuids(reply) == ["cross"])
                #expect(ContinuousClock.now - created < .seconds(2))

                for i in 0..<40 { try await Self.create(a, "x\(i)") }
                let onA = try await TestAgent.connect(a, cluster: "c1", token: token)
                let got = try await withThrowingTaskGroup(of: [String].self) { group in
                    for agent in [onA, onB] {
                        group.addTask {
                            var mine: [String] = []
                            while true {
                                let r = agent.uuids(try await agent.poll(limit: 4, wait: 0))
                                if r.isEmpty { return mine }
                                mine += r
                            }
                        }
                    }
                    var all: [String] = []
                    for try await part in group { all += part }
                    return all
                }
                #expect(got.count == 40)
                #expect(Set(got).count == 40)
            }
        }
        try await cleanup()
    }

    @Test(
        "across replicas on PostgreSQL: deleting the token or the cluster on one ends a poll parked on the other",
        arguments: ["token", "cluster"])
    func replicasRevoke(deleted: String) async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixtureURL.fresh(.postgres)
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                let token = try await Self.setUp(a)
                let onB = try await TestAgent.connect(b, cluster: "c1", token: token)
                async let parked = onB.poll(wait: 20)
                #expect(try await waitUntil { b.app.agents.parkedPolls == 1 })
                let start = ContinuousClock.now
                let r = try await a.request(.DELETE, deleted == "token" ? "/api/v1/cluster_token/t-c1" : "/api/v1/cluster/c1")
                #expect(r.status == 200)
                // Only the event ends it in time: the poll would park 20 s otherwise.
                #expect(try await parked.status == 401)
                #expect(ContinuousClock.now - start < .seconds(5))
            }
        }
        try await cleanup()
    }

    @Test("across replicas on PostgreSQL: a replica that dropped events makes the others forget their known-empty marks")
    func replicasMissedEvents() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixtureURL.fresh(.postgres)
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                let hub = b.app.agents.hub
                // B listens once a wake-up from A reaches it (its (re)connect forgets marks by
                // itself); a `NOTIFY` sent before it listened reaches nobody, so A sends again.
                #expect(
                    try await waitUntil {
                        try await a.store.publish([.wake(cluster: "other")])
                        return hub.generation(of: "other") > 0
                    })
                hub.markEmpty("c1", generation: hub.generation(of: "c1"))
                #expect(hub.isKnownEmpty("c1"))
                try await a.store.publish([.eventsMissed(replica: "a")])
                #expect(try await waitUntil { !hub.isKnownEmpty("c1") })
            }
        }
        try await cleanup()
    }
}
