import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import ClaiflowTestSupport
import Testing

/// Cluster labels, label selectors and paused clusters on both stores.
@Suite("Cluster labels, selectors and pauses (store)")
struct ClusterLabelStoreTests {
    static func cluster(_ uuid: String, _ labels: [String: String], at t: Timestamp = .now()) throws -> Cluster {
        Cluster(
            uuid: uuid, name: "n-" + uuid, summary: nil, created: t, updated: t, labels: try ClusterLabels(validating: labels))
    }

    static func labelRows(_ store: Store, _ cluster: String) async throws -> [String] {
        try await store.database.read { db in
            try await db.query("SELECT key, value FROM cluster_label WHERE cluster_uuid = \(bind: cluster) ORDER BY key")
        }.map { "\(try $0.text("key"))=\(try $0.text("value"))" }
    }

    /// Inserts a queued service row on a cluster, created at `created`.
    static func queue(_ store: Store, _ uuid: String, cluster: String, created: Timestamp) async throws {
        _ = try await store.database.transaction { db in
            try await db.execute(
                """
                INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority, status,
                    step_seq, created, updated)
                VALUES (\(bind: cluster), \(bind: uuid), 'n', '', '[]', 'null', 1, 0, \(bind: ServiceStatus.regist), 0,
                    \(bind: .timestamp(created)), \(bind: .timestamp(created)))
                """)
        }
    }

    @Test(
        "labels round-trip; an update replaces them, keeps them when absent, and a delete removes them",
        arguments: StoreKind.available)
    func roundTrip(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp(microseconds: 1_764_000_000_000_001)
            let c = try Self.cluster("c1", ["env": "prod", "example.com/tier": "web", "empty": ""], at: t)
            try await store.insertCluster(c)
            #expect(try await store.cluster(uuid: "c1") == c)
            #expect(try await Self.labelRows(store, "c1") == ["empty=", "env=prod", "example.com/tier=web"])
            // Absent labels: kept.
            let renamed = try #require(try await store.updateCluster(uuid: "c1", changes: ClusterChanges(name: "x"), now: t))
            #expect(renamed.cluster.labels == c.labels)
            // Given: replaced as a whole.
            let relabeled = try #require(
                try await store.updateCluster(
                    uuid: "c1", changes: ClusterChanges(labels: try ClusterLabels(validating: ["zone": "a"])), now: t))
            #expect(relabeled.cluster.labels.values == ["zone": "a"])
            #expect(relabeled.cluster.name == "x")
            #expect(try await store.cluster(uuid: "c1")?.labels.values == ["zone": "a"])
            #expect(try await Self.labelRows(store, "c1") == ["zone=a"])
            // Emptied.
            _ = try await store.updateCluster(uuid: "c1", changes: ClusterChanges(labels: ClusterLabels()), now: t)
            #expect(try await store.cluster(uuid: "c1")?.labels.isEmpty == true)
            #expect(try await Self.labelRows(store, "c1") == [])
            try await store.insertCluster(try Self.cluster("c2", ["a": "b"]))
            #expect(try await store.deleteCluster(uuid: "c2"))
            #expect(try await Self.labelRows(store, "c2") == [])
        }
    }

    @Test("selectors: every operator, with q and paging", arguments: StoreKind.available)
    func selectors(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            try await store.insertCluster(try Self.cluster("p1", ["env": "prod", "tier": "web", "region": "eu"]))
            try await store.insertCluster(try Self.cluster("p2", ["env": "prod", "tier": "db", "region": "us"]))
            try await store.insertCluster(try Self.cluster("d1", ["env": "dev", "tier": "web"]))
            try await store.insertCluster(try Self.cluster("s1", ["env": "staging", "canary": ""]))
            try await store.insertCluster(try Self.cluster("n1", [:]))
            func uuids(_ selector: String, q: String? = nil, p: String? = nil) async throws -> [String] {
                let query = try ListQueryParser(schema: Tables.cluster).parse(q: q, o: nil, p: p)
                return try await store.clusters(query, selector: try LabelSelector(parsing: selector)).map(\.uuid)
            }
            #expect(try await uuids("") == ["p1", "p2", "d1", "s1", "n1"])
            #expect(try await uuids("env=prod") == ["p1", "p2"])
            #expect(try await uuids("env==dev") == ["d1"])
            #expect(try await uuids("env!=prod") == ["d1", "s1", "n1"])
            #expect(try await uuids("env in (dev,staging)") == ["d1", "s1"])
            #expect(try await uuids("env notin (prod,dev)") == ["s1", "n1"])
            #expect(try await uuids("region") == ["p1", "p2"])
            #expect(try await uuids("!region") == ["d1", "s1", "n1"])
            #expect(try await uuids("canary=") == ["s1"])
            #expect(try await uuids("env=prod,tier=web") == ["p1"])
            #expect(try await uuids("tier,!region") == ["d1"])
            #expect(try await uuids("env=nothing") == [])
            // A value that looks like SQL is only ever a bound parameter (and not a valid value anyway).
            #expect(try await uuids("env in (prod),tier notin (x)", q: #"{"eq":{"uuid":"p2"}}"#) == ["p2"])
            #expect(try await uuids("env!=dev", q: #"(like name "n-%1")"#, p: #"{"limit":1,"page":2}"#) == ["s1"])
            #expect(try await uuids("env!=dev", p: #"{"limit":2,"page":2}"#) == ["s1", "n1"])
        }
    }

    @Test("a paused cluster's services are not claimed until it resumes", arguments: StoreKind.available)
    func pausedClaims(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(try Self.cluster("c1", [:]))
            try await store.insertCluster(try Self.cluster("c2", [:]))
            let paused = try #require(try await store.updateCluster(uuid: "c1", changes: ClusterChanges(paused: true), now: now))
            #expect(paused.cluster.paused && !paused.resumed)
            #expect(paused.cluster.pausedSince == now)
            // Pausing again keeps the first time; q can filter on it.
            let again = try #require(
                try await store.updateCluster(uuid: "c1", changes: ClusterChanges(paused: true), now: now.adding(.seconds(5))))
            #expect(again.cluster.pausedSince == now && !again.resumed)
            let query = try ListQueryParser(schema: Tables.cluster).parse(q: #"{"eq":{"paused":1}}"#, o: nil, p: nil)
            #expect(try await store.clusters(query).map(\.uuid) == ["c1"])
            try await Self.queue(store, "s1", cluster: "c1", created: now)
            try await Self.queue(store, "s2", cluster: "c2", created: now)
            func claim(_ cluster: String) async throws -> [String] {
                try await store.claimServices(
                    clusterUUID: cluster, sessionUUID: "sess-" + cluster, limit: 10, validAfter: now.adding(.seconds(-600)),
                    leaseUntil: now.adding(.seconds(60)), now: now
                ).map(\.service.uuid)
            }
            #expect(try await claim("c1") == [])
            #expect(try await claim("c2") == ["s2"])
            let resumed = try #require(
                try await store.updateCluster(uuid: "c1", changes: ClusterChanges(paused: false), now: now.adding(.seconds(1))))
            #expect(resumed.resumed && !resumed.cluster.paused && resumed.cluster.pausedSince == nil)
            #expect(try await claim("c1") == ["s1"])
            // Resuming a cluster that is not paused is no resume.
            let noop = try #require(try await store.updateCluster(uuid: "c2", changes: ClusterChanges(paused: false), now: now))
            #expect(!noop.resumed)
        }
    }

    @Test("the validity clock stands still while the cluster is paused", arguments: StoreKind.available)
    func validityClock(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            func t(_ seconds: Int64) -> Timestamp { Timestamp(microseconds: 1_800_000_000_000_000 + seconds * 1_000_000) }
            let validity: Int64 = 600
            func sweep(at s: Int64) async throws -> [String] {
                try await store.sweep(now: t(s), validAfter: t(s - validity), maxAttempts: 3)
                    .filter { $0.record.status == .expired }.map(\.service.uuid).sorted()
            }
            func deadline() async throws -> Timestamp? { try await store.nextDeadline(validity: .seconds(validity)) }
            try await store.insertCluster(try Self.cluster("c1", [:], at: t(0)))
            try await store.insertCluster(try Self.cluster("c2", [:], at: t(0)))
            // "old" queued at 0, the pause 100 … 1100, "new" queued at 500 (during the pause).
            try await Self.queue(store, "old", cluster: "c1", created: t(0))
            try await Self.queue(store, "other", cluster: "c2", created: t(0))
            #expect(try await deadline() == t(600))
            _ = try await store.updateCluster(uuid: "c1", changes: ClusterChanges(paused: true), now: t(100))
            try await Self.queue(store, "new", cluster: "c1", created: t(500))
            // Only the unpaused cluster's service counts, and only it expires.
            #expect(try await deadline() == t(600))
            #expect(try await sweep(at: 1000) == ["other"])
            #expect(try await deadline() == nil)
            #expect(try await sweep(at: 1099) == [])
            _ = try await store.updateCluster(uuid: "c1", changes: ClusterChanges(paused: false), now: t(1100))
            // "old" had run 100 s of 600 before the pause: it expires at 1100 + 500; "new" at 1100 + 600.
            #expect(try await deadline() == t(1600))
            #expect(try await sweep(at: 1599) == [])
            #expect(try await sweep(at: 1600) == ["old"])
            #expect(try await deadline() == t(1700))
            #expect(try await sweep(at: 1699) == [])
            #expect(try await sweep(at: 1700) == ["new"])
            // And the claim follows the same clock: nothing valid is left.
            #expect(try await deadline() == nil)
        }
    }
}
