import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

/// The service status rules (report, cancel, sweep) as each store applies them: every test runs
/// against SQLite and against a real PostgreSQL.
@Suite("Store service status rules")
struct ServiceStatusStoreTests {
    static func session(_ uuid: String, token: String, created: Timestamp) -> ClusterSession {
        ClusterSession(
            uuid: uuid, clusterUUID: "c1", clusterTokenUUID: token, issuedAt: created, expiresAt: created.adding(.seconds(3600)),
            clientVersion: "v1", clientLibVersion: "lib1", created: created, updated: created)
    }

    /// Inserts a service row in a given state (no status history).
    static func insert(
        _ store: Store, _ uuid: String, status: ServiceStatus, steps: Int = 1, session: String? = nil, lease: Timestamp? = nil,
        attempts: Int = 0, cancelRequested: Bool = false, created: Timestamp
    ) async throws {
        _ = try await store.database.transaction { db in
            try await db.execute(
                """
                INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority, status,
                    step_seq, cancel_requested, session_uuid, lease_expires, attempts, created, updated)
                VALUES ('c1', \(bind: uuid), 'n', '', '[]', 'null', \(bind: steps), 0, \(bind: status), 0,
                    \(bind: cancelRequested ? 1 : 0), \(bind: session), \(bind: lease.map { .timestamp($0) } ?? .null),
                    \(bind: attempts), \(bind: .timestamp(created)), \(bind: .timestamp(created)))
                """)
        }
    }

    /// A service's row as stored: status, holder, lease, attempts.
    struct Row: Equatable {
        var status: ServiceStatus?
        var session: String?
        var lease: Timestamp?
        var attempts: Int64
    }

    static func row(_ store: Store, _ uuid: String) async throws -> Row {
        let r = try #require(
            try await store.database.read { db in
                try await db.query("SELECT status, session_uuid, lease_expires, attempts FROM service WHERE uuid = \(bind: uuid)")
            }.first)
        return Row(
            status: ServiceStatus(rawValue: Int(try r.integer("status"))), session: r.optionalText("session_uuid"),
            lease: r.optionalTimestamp("lease_expires"), attempts: try r.integer("attempts"))
    }

    /// A service's status history: (status, message) oldest first.
    static func history(_ store: Store, _ uuid: String) async throws -> [String] {
        try await store.database.read { db in
            try await db.query("SELECT status, message FROM service_status WHERE uuid = \(bind: uuid) ORDER BY id")
        }.map { r in
            let status = ServiceStatus(rawValue: Int(try r.integer("status")))?.name ?? "?"
            return r.optionalText("message").map { "\(status): \($0)" } ?? status
        }
    }

    static func report(_ seq: Int, _ status: ServiceStatus, ended: Timestamp? = nil) -> StepReportInput {
        StepReportInput(sequence: seq, status: status, result: #"{"n":\#(seq)}"#, error: nil, started: nil, ended: ended)
    }

    @Test(
        "reports: the stored status, duplicates, overtaken steps, the result, finished, foreign and unknown services",
        arguments: StoreKind.available)
    func reports(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            let lease = now.adding(.seconds(60))
            try await Self.insert(store, "two", status: .sent, steps: 2, session: "s1", lease: now, attempts: 1, created: now)
            func record(_ r: StepReportInput, session: String = "s1", uuid: String = "two") async throws -> ReportOutcome {
                try await store.recordReport(
                    clusterUUID: "c1", uuid: uuid, sessionUUID: session, report: r, leaseUntil: lease, now: now)
            }
            guard case .recorded(let first, cancel: false) = try await record(Self.report(0, .succeeded)) else {
                Issue.record("not recorded")
                return
            }
            #expect(first.record.status == .processing)
            #expect(first.reported == .succeeded)
            #expect(try await Self.row(store, "two") == Row(status: .processing, session: "s1", lease: lease, attempts: 1))
            // Again: nothing changes.
            guard case .duplicate(_, cancel: false) = try await record(Self.report(0, .succeeded)) else {
                Issue.record("not a duplicate")
                return
            }
            // Another session that did not take over, an unknown service.
            guard case .notHeld = try await record(Self.report(0, .failed), session: "stranger") else {
                Issue.record("held by a stranger")
                return
            }
            #expect(try await record(Self.report(0, .processing), uuid: "none") == .notFound)
            guard case .recorded(_, cancel: false) = try await record(Self.report(1, .processing)) else {
                Issue.record("step 1 not recorded")
                return
            }
            // A late report of step 0 was overtaken by step 1.
            guard case .duplicate = try await record(Self.report(0, .failed)) else {
                Issue.record("not overtaken")
                return
            }
            guard case .recorded(let last, cancel: false) = try await record(Self.report(1, .succeeded, ended: now)) else {
                Issue.record("last step not recorded")
                return
            }
            #expect(last.record.status == .succeeded)
            #expect(try await Self.row(store, "two") == Row(status: .succeeded, session: "s1", lease: nil, attempts: 1))
            let result = try await store.serviceDetail(clusterUUID: "c1", uuid: "two")
            #expect(result?.result?.result == #"{"n":1}"#)
            #expect(try await Self.history(store, "two") == ["processing", "processing", "succeeded"])
            guard case .finished = try await record(Self.report(1, .failed)) else {
                Issue.record("not finished")
                return
            }
            #expect(try await Self.history(store, "two").count == 3)
        }
    }

    @Test("a failed intermediate step ends the service failed, without a result", arguments: StoreKind.available)
    func failedStep(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await Self.insert(store, "f", status: .processing, steps: 3, session: "s1", lease: now, created: now)
            let r = StepReportInput(
                sequence: 0, status: .failed, result: nil, error: "pods is forbidden", started: nil, ended: now)
            guard
                case .recorded(let change, cancel: false) = try await store.recordReport(
                    clusterUUID: "c1", uuid: "f", sessionUUID: "s1", report: r, leaseUntil: now.adding(.seconds(60)), now: now)
            else {
                Issue.record("not recorded")
                return
            }
            #expect(change.record.message == "pods is forbidden")
            #expect(try await Self.row(store, "f").status == .failed)
            #expect(try await Self.row(store, "f").lease == nil)
            #expect(try await Self.history(store, "f") == ["failed: pods is forbidden"])
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "f")?.result == nil)
        }
    }

    @Test(
        "a newer session of the holder's token takes over; an older one or another token's cannot", arguments: StoreKind.available
    )
    func takeOver(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(Cluster(uuid: "c1", name: "one", summary: nil, created: now, updated: now))
            for t in ["t1", "t2"] {
                try await store.insertClusterToken(
                    ClusterToken(
                        uuid: t, name: t, summary: nil, clusterUUID: "c1", tokenHash: "hash-" + t, issuedAt: now,
                        expiresAt: now.adding(.seconds(3600)), created: now, updated: now))
            }
            try await store.upsertSession(Self.session("old", token: "t1", created: now.adding(.seconds(-10))))
            try await store.upsertSession(Self.session("new", token: "t1", created: now))
            try await store.upsertSession(Self.session("other", token: "t2", created: now.adding(.seconds(5))))
            try await Self.insert(store, "long", status: .processing, steps: 3, session: "old", lease: now, created: now)
            func record(_ seq: Int, session: String) async throws -> ReportOutcome {
                try await store.recordReport(
                    clusterUUID: "c1", uuid: "long", sessionUUID: session, report: Self.report(seq, .processing),
                    leaseUntil: now.adding(.seconds(60)), now: now)
            }
            guard case .notHeld = try await record(0, session: "other") else {
                Issue.record("another token took over")
                return
            }
            guard case .recorded(let change, cancel: false) = try await record(0, session: "new") else {
                Issue.record("the newer session did not take over")
                return
            }
            #expect(change.service.sessionUUID == "new")
            #expect(try await Self.row(store, "long").session == "new")
            guard case .notHeld = try await record(1, session: "old") else {
                Issue.record("the older session took it back")
                return
            }
        }
    }

    @Test(
        "cancel: queued ends canceled at once, delivered records the request and the next report ends it, finished refuses",
        arguments: StoreKind.available)
    func cancel(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await Self.insert(store, "queued", status: .regist, created: now)
            try await Self.insert(store, "running", status: .processing, steps: 3, session: "s1", lease: now, created: now)
            try await Self.insert(store, "done", status: .succeeded, created: now)
            guard case .canceled(let canceled) = try await store.cancelService(clusterUUID: "c1", uuid: "queued", now: now) else {
                Issue.record("queued not canceled")
                return
            }
            #expect(canceled.status == .canceled)
            #expect(try await Self.row(store, "queued").status == .canceled)
            #expect(try await Self.history(store, "queued") == ["canceled: canceled by an operator"])
            guard case .requested(let requested) = try await store.cancelService(clusterUUID: "c1", uuid: "running", now: now)
            else {
                Issue.record("running not requested")
                return
            }
            #expect(requested.cancelRequested)
            #expect(try await Self.row(store, "running").status == .processing)
            guard case .alreadyFinished = try await store.cancelService(clusterUUID: "c1", uuid: "done", now: now) else {
                Issue.record("done changed")
                return
            }
            #expect(try await store.cancelService(clusterUUID: "c1", uuid: "none", now: now) == nil)
            // The running service's next report is stored, then it ends canceled and the agent is told to stop.
            guard
                case .recorded(let change, cancel: true) = try await store.recordReport(
                    clusterUUID: "c1", uuid: "running", sessionUUID: "s1", report: Self.report(0, .succeeded),
                    leaseUntil: now.adding(.seconds(60)), now: now)
            else {
                Issue.record("no cancel on report")
                return
            }
            #expect(change.record.status == .canceled)
            #expect(try await Self.row(store, "running") == Row(status: .canceled, session: "s1", lease: nil, attempts: 0))
            #expect(try await Self.history(store, "running") == ["processing", "canceled: canceled by an operator"])
            // It has finished: the same report again is refused.
            guard
                case .finished = try await store.recordReport(
                    clusterUUID: "c1", uuid: "running", sessionUUID: "s1", report: Self.report(0, .succeeded),
                    leaseUntil: now.adding(.seconds(60)), now: now)
            else {
                Issue.record("a report after the cancel was not refused")
                return
            }
        }
    }

    @Test(
        "the sweep: expired, requeued while attempts remain, agent lost, canceled; nothing else", arguments: StoreKind.available)
    func sweep(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            let old = now.adding(.seconds(-600))
            let validAfter = now.adding(.seconds(-300))
            let lapsed = now.adding(.seconds(-1))
            let future = now.adding(.seconds(60))
            try await Self.insert(store, "stale", status: .regist, created: old)
            try await Self.insert(store, "queued", status: .regist, created: now)
            try await Self.insert(store, "requeue", status: .sent, session: "s1", lease: lapsed, attempts: 1, created: now)
            try await Self.insert(store, "exhausted", status: .sent, session: "s1", lease: lapsed, attempts: 2, created: now)
            try await Self.insert(store, "lost", status: .processing, session: "s1", lease: lapsed, attempts: 1, created: now)
            try await Self.insert(
                store, "cancel-sent", status: .sent, session: "s1", lease: lapsed, attempts: 5, cancelRequested: true,
                created: now)
            try await Self.insert(
                store, "cancel-running", status: .processing, session: "s1", lease: lapsed, attempts: 1, cancelRequested: true,
                created: old)
            try await Self.insert(store, "held-sent", status: .sent, session: "s2", lease: future, attempts: 9, created: old)
            try await Self.insert(store, "held", status: .processing, session: "s2", lease: future, attempts: 1, created: old)
            try await Self.insert(store, "done", status: .succeeded, session: "s1", attempts: 1, created: old)

            #expect(try await store.nextDeadline(validity: .seconds(300)) == old.adding(.seconds(300)))
            let changes = try await store.sweep(now: now, validAfter: validAfter, maxAttempts: 2)
            let got = Dictionary(
                uniqueKeysWithValues: changes.map { ($0.service.uuid, "\($0.record.status.name): \($0.record.message ?? "")") })
            #expect(
                got == [
                    "stale": "expired: not picked up by an agent within ClientConfig/ServiceValidityPeriod",
                    "requeue":
                        "regist: requeued: no report from the agent it was sent to within its lease",
                    "exhausted": "failed: agent lost: delivered 2 times and never started",
                    "lost": "failed: agent lost: the agent running it stopped reporting",
                    "cancel-sent": "canceled: canceled by an operator",
                    "cancel-running": "canceled: canceled by an operator",
                ])
            #expect(changes.allSatisfy { $0.record.ended == now && $0.record.created == now && $0.record.started == nil })
            #expect(try await Self.row(store, "stale") == Row(status: .expired, session: nil, lease: nil, attempts: 0))
            #expect(try await Self.row(store, "requeue") == Row(status: .regist, session: nil, lease: nil, attempts: 1))
            #expect(try await Self.row(store, "exhausted") == Row(status: .failed, session: "s1", lease: nil, attempts: 2))
            #expect(try await Self.row(store, "lost") == Row(status: .failed, session: "s1", lease: nil, attempts: 1))
            #expect(try await Self.row(store, "cancel-sent") == Row(status: .canceled, session: "s1", lease: nil, attempts: 5))
            #expect(try await Self.row(store, "cancel-running") == Row(status: .canceled, session: "s1", lease: nil, attempts: 1))
            #expect(try await Self.row(store, "queued") == Row(status: .regist, session: nil, lease: nil, attempts: 0))
            #expect(try await Self.row(store, "held-sent") == Row(status: .sent, session: "s2", lease: future, attempts: 9))
            #expect(try await Self.row(store, "held") == Row(status: .processing, session: "s2", lease: future, attempts: 1))
            #expect(try await Self.row(store, "done") == Row(status: .succeeded, session: "s1", lease: nil, attempts: 1))
            #expect(try await Self.history(store, "lost") == ["failed: agent lost: the agent running it stopped reporting"])
            #expect(try await Self.history(store, "held").isEmpty)
            // Nothing more is due now; the next deadline is the held leases' (before the requeued one's validity).
            #expect(try await store.sweep(now: now, validAfter: validAfter, maxAttempts: 2).isEmpty)
            #expect(try await store.nextDeadline(validity: .seconds(300)) == future)
        }
    }

    @Test(
        "keep-alive extends the leases of the services a session runs, and only those (not a sent one's)",
        arguments: StoreKind.available)
    func keepAlive(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            let until = now.adding(.seconds(120))
            try await Self.insert(store, "sent", status: .sent, session: "s1", lease: now, created: now)
            try await Self.insert(store, "running", status: .processing, session: "s1", lease: now, created: now)
            try await Self.insert(
                store, "later", status: .processing, session: "s1", lease: until.adding(.seconds(1)), created: now)
            try await Self.insert(store, "other", status: .processing, session: "s2", lease: now, created: now)
            try await Self.insert(store, "done", status: .failed, session: "s1", lease: now, created: now)
            var session = Self.session("s1", token: "t1", created: now)
            session.expiresAt = until
            try await store.keepAlive([session], now: now)
            // The agent may never have received a sent service: only a report renews its lease.
            #expect(try await Self.row(store, "sent").lease == now)
            #expect(try await Self.row(store, "running").lease == until)
            #expect(try await Self.row(store, "later").lease == until.adding(.seconds(1)))
            #expect(try await Self.row(store, "other").lease == now)
            #expect(try await Self.row(store, "done").lease == now)
        }
    }
}
