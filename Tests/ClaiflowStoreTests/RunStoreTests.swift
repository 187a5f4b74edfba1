import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Synchronization
import Testing

/// Store-level checks of runs and of the races around them (issue 14's loose ends).
@Suite("Runs and their races (store)")
struct RunStoreTests {
    static var postgresOnly: [StoreKind] { StoreKind.available.filter { $0 == .postgres } }

    /// A run over `clusters` (none skipped, none released beyond `maxParallel`), as the create use case builds it.
    static func creation(_ uuid: String, clusters: [String], maxParallel: Int = 10, now: Timestamp = .now()) -> RunCreation {
        let strategy = RunStrategy(maxParallel: .count(maxParallel))
        let run = Run(
            uuid: uuid, name: "r", summary: nil, templateUUID: "", selector: nil, strategy: strategy, webhook: nil,
            includePaused: false, serviceUUID: "svc-" + uuid,
            progress: RunProgress(total: clusters.count, skipped: 0, strategy: strategy), created: now, updated: now,
            ended: nil)
        let rows = clusters.enumerated().map { i, c in
            RunCluster(
                position: i, clusterUUID: c, clusterName: c, labels: ClusterLabels(), status: .pending, message: nil,
                started: nil, ended: nil)
        }
        let services = clusters.map { c in
            var s = Service(
                clusterUUID: c, uuid: "svc-" + uuid, name: "r", summary: nil, templateUUID: "",
                flow: #"[{"$command":"claiflow.echo","$id":"s"}]"#, inputs: "null", stepMax: 1, priority: 0, webhook: nil,
                status: .regist, stepSeq: 0, cancelRequested: false, created: now, updated: now)
            s.runUUID = uuid
            return s
        }
        return RunCreation(run: run, clusters: rows, services: services, timeoutShift: 0)
    }

    /// Waits until a PostgreSQL backend running a statement that starts with `statement` waits
    /// for a lock; whether one did.
    static func waitsForLock(_ store: Store, statement: String) async throws -> Bool {
        try await waitUntil {
            try await store.database.read { db in
                try await db.first(
                    """
                    SELECT 1 AS x FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                        AND query LIKE \(bind: statement + "%")
                    """) != nil
            }
        }
    }

    static func count(_ store: Store, _ table: String) async throws -> Int64 {
        try await store.database.read { db in
            try await db.first(SQL(stringLiteral: "SELECT COUNT(*) AS n FROM \(table)"))?.integer("n") ?? -1
        }
    }

    @Test(
        "a run whose target cluster was deleted after it was resolved is a 409 naming it, and nothing is written",
        arguments: StoreKind.available)
    func deletedTarget(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            for c in ["c1", "c2", "c3"] {
                try await store.insertCluster(Cluster(uuid: c, name: c, summary: nil, created: now, updated: now))
            }
            // Resolved with c2, which is deleted before the run is written.
            let creation = Self.creation("r1", clusters: ["c1", "c2", "c3"], maxParallel: 1)
            #expect(try await store.deleteCluster(uuid: "c2"))
            do {
                _ = try await store.insertRun(creation)
                Issue.record("a run over a deleted cluster was written")
            } catch let e as ClaiflowError {
                #expect(e.kind == .conflict)
                #expect(e.message.contains(#"cluster "c2""#), "\(e.message)")
            }
            for table in ["run", "run_cluster", "service", "service_status"] {
                #expect(try await Self.count(store, table) == 0, "\(table)")
            }
            // With every cluster there, the same run is written.
            let ok = Self.creation("r2", clusters: ["c1", "c3"], maxParallel: 1)
            #expect(try await store.insertRun(ok) == ["c1"])
            #expect(try await Self.count(store, "service") == 2)
        }
    }

    @Test(
        "PostgreSQL: a cluster delete waiting for a run being written for it deletes the run's services with it",
        arguments: postgresOnly)
    func deleteWaitsForRun(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(Cluster(uuid: "c1", name: "c1", summary: nil, created: now, updated: now))
            // A transaction holds the key-share lock a run insert takes on the cluster's row.
            let locked = Shared(false)
            let release = AsyncStream.makeStream(of: Void.self)
            let holder = Task {
                try await store.database.transaction { db in
                    _ = try await db.query("SELECT uuid FROM cluster WHERE uuid = 'c1' FOR KEY SHARE")
                    try await db.execute(
                        """
                        INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority,
                            status, step_seq, cancel_requested, created, updated)
                        VALUES ('c1', 's1', 'n', '', '[]', 'null', 1, 0, 0, 0, 0, \(bind: .timestamp(now)),
                            \(bind: .timestamp(now)))
                        """)
                    locked.set(true)
                    for await _ in release.stream { break }
                }
            }
            #expect(try await waitUntil { locked.get() })
            let delete = Task { try await store.deleteCluster(uuid: "c1") }
            // The delete waits for the lock (it takes the cluster's row first).
            #expect(try await Self.waitsForLock(store, statement: "DELETE FROM cluster"))
            release.continuation.yield()
            try await holder.value
            #expect(try await delete.value)
            #expect(try await Self.count(store, "service") == 0)
        }
    }

    @Test(
        "PostgreSQL: two transactions that deadlock both commit, the one PostgreSQL aborted run again", arguments: postgresOnly)
    func deadlockRetried(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            for c in ["a", "b"] {
                try await store.insertCluster(Cluster(uuid: c, name: c, summary: nil, created: now, updated: now))
            }
            let database = try #require(store.database as? PostgresDatabase)
            let before = database.transactionsRetried
            // Each locks one row, waits until the other has locked the other row, then asks for it.
            let firstLocks = Shared<Set<String>>([])
            let runs = Shared(0)
            @Sendable func cross(_ first: String, _ second: String) async throws {
                try await store.database.transaction { db in
                    let attempt = runs.update { $0 += 1 }
                    try await db.execute("UPDATE cluster SET summary = \(bind: first) WHERE uuid = \(bind: first)")
                    if attempt <= 2 {
                        firstLocks.update { _ = $0.insert(first) }
                        _ = try await waitUntil { firstLocks.get().count == 2 }
                    }
                    try await db.execute("UPDATE cluster SET summary = \(bind: first) WHERE uuid = \(bind: second)")
                }
            }
            let ab = Task { try await cross("a", "b") }
            let ba = Task { try await cross("b", "a") }
            try await ab.value
            try await ba.value
            #expect(database.transactionsRetried == before + 1)
            #expect(runs.get() == 3)
        }
    }

    @Test(
        "PostgreSQL: a claim running while a pause commits waits for it and claims nothing", arguments: postgresOnly)
    func claimDuringPause(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(Cluster(uuid: "c1", name: "c1", summary: nil, created: now, updated: now))
            _ = try await store.database.transaction { db in
                try await db.execute(
                    """
                    INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority,
                        status, step_seq, cancel_requested, created, updated)
                    VALUES ('c1', 's1', 'n', '', '[]', 'null', 1, 0, 0, 0, 0, \(bind: .timestamp(now)), \(bind: .timestamp(now)))
                    """)
            }
            // The pause's transaction has written the row and not committed yet.
            let written = Shared(false)
            let commit = AsyncStream.makeStream(of: Void.self)
            let pause = Task {
                try await store.database.transaction { db in
                    try await db.execute(
                        "UPDATE cluster SET paused = 1, paused_since = \(bind: .timestamp(now)) WHERE uuid = 'c1'")
                    written.set(true)
                    for await _ in commit.stream { break }
                }
            }
            #expect(try await waitUntil { written.get() })
            let claim = Task {
                try await store.claimServices(
                    clusterUUID: "c1", sessionUUID: "s", limit: 4, validAfter: now.adding(.seconds(-3600)),
                    leaseUntil: now.adding(.seconds(60)), now: now)
            }
            // The claim waits for the pause's lock on the cluster row (before the fix it did not
            // wait, and delivered the service after the pause committed).
            #expect(try await Self.waitsForLock(store, statement: "UPDATE service"))
            commit.continuation.yield()
            try await pause.value
            #expect(try await claim.value.isEmpty)
            #expect(try await store.cluster(uuid: "c1")?.pausedSince != nil)
        }
    }
}

/// A value the test and the tasks it starts share.
final class Shared<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    func get() -> T { value.withLock { $0 } }
    func set(_ v: T) { value.withLock { $0 = v } }
    /// Changes the value; returns it after the change.
    @discardableResult
    func update(_ change: (inout T) -> Void) -> T {
        value.withLock {
            change(&$0)
            return $0
        }
    }
}
