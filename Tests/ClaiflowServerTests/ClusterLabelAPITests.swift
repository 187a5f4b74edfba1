import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Cluster labels, selectors and paused clusters (API)")
struct ClusterLabelAPITests {
    static func labels(_ r: TestServer.Reply) -> [String: String]? {
        guard case .object(let o) = r.json?.field("labels") else { return nil }
        return o.compactMapValues { if case .string(let s) = $0 { s } else { nil } }
    }

    /// The cluster rows and label rows as stored.
    static func snapshot(_ s: TestServer) async throws -> [String] {
        try await s.store.database.read { db in
            var rows: [String] = []
            for query in ["SELECT * FROM cluster ORDER BY id", "SELECT * FROM cluster_label ORDER BY cluster_uuid, key"] {
                let r = try await db.query(SQL(stringLiteral: query))
                rows.append(query + ":" + r.map { "\($0.values.sorted { $0.key < $1.key })" }.joined(separator: "|"))
            }
            return rows
        }
    }

    static func select(_ s: TestServer, _ selector: String, q: String? = nil, p: String? = nil) async throws -> TestServer.Reply {
        var path = TestServer.query("/api/v1/cluster", q: q, p: p)
        let encoded = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
        path += (path.contains("?") ? "&" : "?") + "selector=" + encoded
        return try await s.request(.GET, path)
    }

    static func uuids(_ r: TestServer.Reply) -> [String] {
        r.array.compactMap { if case .string(let u) = $0.field("uuid") { u } else { nil } }
    }

    @Test("labels round-trip in every response; PUT replaces them, keeps them when absent or null; paused toggles")
    func roundTrip() async throws {
        try await TestServer.with { s in
            let created = try await s.request(
                .POST, "/api/v1/cluster",
                json: #"{"uuid":"c1","name":"prod","labels":{"env":"prod","example.com/tier":"web","canary":""}}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(Self.labels(created) == ["env": "prod", "example.com/tier": "web", "canary": ""])
            #expect(created.json?.field("paused") == .bool(false))
            #expect(try await s.request(.GET, "/api/v1/cluster/c1").json == created.json)
            let plain = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c2","name":"dev"}"#)
            #expect(plain.body.contains(#""labels":{}"#))
            let list = try await s.request(.GET, "/api/v1/cluster")
            #expect(list.array.map { $0.field("labels") } == [created.json?.field("labels"), .object([:])])

            // Absent and null keep them.
            let renamed = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"name":"prod-2"}"#)
            #expect(Self.labels(renamed) == Self.labels(created))
            let nulled = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"labels":null,"summary":"s"}"#)
            #expect(Self.labels(nulled) == Self.labels(created))
            // Given: replaced as a whole; {} clears them.
            let replaced = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"labels":{"zone":"a"}}"#)
            #expect(Self.labels(replaced) == ["zone": "a"])
            #expect(replaced.string("name") == "prod-2")
            #expect(Self.labels(try await s.request(.GET, "/api/v1/cluster/c1")) == ["zone": "a"])
            #expect(Self.labels(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"labels":{}}"#)) == [:])

            let paused = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":true}"#)
            #expect(paused.json?.field("paused") == .bool(true))
            let filtered = try await s.request(.GET, TestServer.query("/api/v1/cluster", q: #"{"eq":{"paused":1}}"#))
            #expect(Self.uuids(filtered) == ["c1"])
            let resumed = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":false}"#)
            #expect(resumed.json?.field("paused") == .bool(false))
            let pausedAtCreate = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c3","name":"x","paused":true}"#)
            #expect(pausedAtCreate.json?.field("paused") == .bool(true))
        }
    }

    @Test(
        "bad labels: 400 naming the label, nothing written",
        arguments: [
            (#"{"bad key":"v"}"#, #"labels["bad key"]: invalid key"#),
            (#"{"a/b/c":"v"}"#, #"labels["a/b/c"]: invalid key"#),
            (#"{"Example.com/a":"v"}"#, #"labels["Example.com/a"]: invalid key"#),
            (#"{"ok":"-v"}"#, #"labels["ok"]: invalid value "-v""#),
            (#"{"ok":"\#(String(repeating: "v", count: 64))"}"#, #"labels["ok"]: invalid value"#),
            (#"{"n":1}"#, #"labels["n"]: the value must be a string, got number"#),
            (#"["a"]"#, #"field "labels": must be an object"#),
            (#""env=prod""#, #"field "labels": must be an object"#),
            (
                "{" + (0...64).map { #""k\#($0)":"v""# }.joined(separator: ",") + "}",
                "labels: at most 64 labels are allowed, got 65"
            ),
        ])
    func badLabels(labels: String, message: String) async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"prod","labels":{"env":"prod"}}"#)
            let before = try await Self.snapshot(s)
            let create = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c2","name":"x","labels":\#(labels)}"#)
            #expect(create.status == 400)
            #expect(create.message.hasPrefix(message), "\(create.body)")
            let update = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"name":"changed","labels":\#(labels)}"#)
            #expect(update.status == 400)
            #expect(update.message.hasPrefix(message), "\(update.body)")
            #expect(try await Self.snapshot(s) == before)
            let paused = try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":"yes"}"#)
            #expect(paused.status == 400 && paused.message.contains(#""paused""#))
        }
    }

    @Test("selectors over HTTP: every operator, combined with q and p; malformed ones name the position")
    func selectors() async throws {
        try await TestServer.with { s in
            let clusters = [
                ("p1", #"{"env":"prod","tier":"web","region":"eu"}"#), ("p2", #"{"env":"prod","tier":"db","region":"us"}"#),
                ("d1", #"{"env":"dev","tier":"web"}"#), ("s1", #"{"env":"staging","canary":""}"#), ("n1", "{}"),
            ]
            for (uuid, labels) in clusters {
                let r = try await s.request(
                    .POST, "/api/v1/cluster", json: #"{"uuid":"\#(uuid)","name":"n-\#(uuid)","labels":\#(labels)}"#)
                #expect(r.status == 200)
            }
            let cases: [(String, [String])] = [
                ("", ["p1", "p2", "d1", "s1", "n1"]),
                ("env=prod", ["p1", "p2"]),
                ("env==dev", ["d1"]),
                ("env!=prod", ["d1", "s1", "n1"]),
                ("env in (dev, staging)", ["d1", "s1"]),
                ("env notin (prod,dev)", ["s1", "n1"]),
                ("region", ["p1", "p2"]),
                ("!region", ["d1", "s1", "n1"]),
                ("canary=", ["s1"]),
                (" env = prod , tier = web ", ["p1"]),
            ]
            for (selector, expected) in cases {
                let r = try await Self.select(s, selector)
                #expect(r.status == 200, "\(selector): \(r.body)")
                #expect(Self.uuids(r) == expected, "\(selector)")
            }
            // With q, o and p.
            #expect(
                Self.uuids(try await Self.select(s, "env!=dev", q: #"(like name "n-%1")"#, p: #"{"limit":1,"page":2}"#)) == ["s1"]
            )
            #expect(Self.uuids(try await Self.select(s, "tier", q: #"{"eq":{"uuid":"d1"}}"#)) == ["d1"])
            let ordered = try await s.request(
                .GET, TestServer.query("/api/v1/cluster", o: #"{"desc":"name"}"#, p: #"{"limit":2}"#) + "&selector=env%3Dprod")
            #expect(Self.uuids(ordered) == ["p2", "p1"])

            let malformed: [(String, String)] = [
                ("env in (a", "selector: expected ',' or ')' at position 10, found the end"),
                ("env=prod,", "selector: expected a label key or '!' after ',' at position 10, found the end"),
                ("env=(", "selector: expected a value at position 5, found '('"),
                ("bad key=v", "selector: expected an operator (=, ==, !=, in, notin), ',' or the end at position 5, found 'key'"),
                ("env=-x", "selector: invalid value '-x' at position 5"),
            ]
            for (selector, message) in malformed {
                let r = try await Self.select(s, selector)
                #expect(r.status == 400, "\(selector)")
                #expect(r.message.hasPrefix(message), "\(r.body)")
            }
        }
    }

    @Test("a paused cluster's agent gets nothing until it is resumed, then at once", arguments: StoreKind.available)
    func pausedDispatch(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await AgentAPITests.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":true}"#).status == 200)
            try await AgentAPITests.create(s, "held")
            #expect(agent.uuids(try await agent.poll(wait: 0)) == [])
            #expect(try await AgentAPITests.statuses(s, "held") == [0])
            async let parked = agent.poll(wait: 20)
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            // Another service created while it is parked wakes it, but it still gets nothing and parks again.
            try await AgentAPITests.create(s, "held2")
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            #expect(try await AgentAPITests.statuses(s, "held") == [0])
            let resumed = ContinuousClock.now
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":false}"#).status == 200)
            let reply = try await parked
            #expect(agent.uuids(reply).sorted() == ["held", "held2"])
            #expect(ContinuousClock.now - resumed < .seconds(5))
            #expect(try await AgentAPITests.statuses(s, "held") == [0, 1])
        }
    }

    @Test("the validity clock does not run while paused: a service on a running cluster expires, the paused one's stays queued")
    func validityWhilePaused() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            _ = try await AgentAPITests.setUp(s, cluster: "c2")
            let g = KnownGlobalVariable.clientConfigServiceValidityPeriod.uuid
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"2s"}"#).status == 200)
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":true}"#).status == 200)
            try await AgentAPITests.create(s, "kept")
            try await AgentAPITests.create(s, "gone", cluster: "c2")
            // The same age: the running cluster's expires, the paused cluster's does not.
            #expect(
                try await waitUntil(timeout: .seconds(15)) {
                    try await AgentAPITests.statuses(s, "gone", cluster: "c2") == [0, 32]
                })
            #expect(try await AgentAPITests.statuses(s, "kept") == [0])
            // Resumed, its clock starts again: it is still valid for its agent.
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":false}"#).status == 200)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(agent.uuids(try await agent.poll(wait: 5)) == ["kept"])
        }
    }
}
