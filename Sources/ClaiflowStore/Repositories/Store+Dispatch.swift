import ClaiflowCore
import ClaiflowQuery

/// A status change made by the dispatch machinery, for wake-ups and (later) webhooks.
public struct StatusChange: Sendable, Equatable {
    public var service: Service
    public var record: ServiceStatusRecord
    /// For a step report: the status the agent reported (the record holds the stored one).
    public var reported: ServiceStatus?
    /// For a step report: the step's result text.
    public var result: String?

    public init(service: Service, record: ServiceStatusRecord, reported: ServiceStatus? = nil, result: String? = nil) {
        self.service = service
        self.record = record
        self.reported = reported
        self.result = result
    }
}

/// What a step report did.
public enum ReportOutcome: Sendable, Equatable {
    /// Stored; `cancel` tells the agent to stop (an operator canceled the service).
    case recorded(StatusChange, cancel: Bool)
    /// The same report was already stored: nothing changed.
    case duplicate(Service, cancel: Bool)
    /// The service had already finished.
    case finished(Service)
    /// No such service on the caller's cluster.
    case notFound
    /// The service is not delivered to this session (never, or it was requeued after its lease lapsed).
    case notHeld(Service)
}

/// A step report as the agent sends it.
public struct StepReportInput: Sendable, Equatable {
    public var sequence: Int
    public var status: ServiceStatus
    public var result: String?
    public var error: String?
    public var started: Timestamp?
    public var ended: Timestamp?

    public init(sequence: Int, status: ServiceStatus, result: String?, error: String?, started: Timestamp?, ended: Timestamp?) {
        self.sequence = sequence
        self.status = status
        self.result = result
        self.error = error
        self.started = started
        self.ended = ended
    }
}

extension Store {
    func lockClause() -> SQL { dialect == .postgres ? " FOR UPDATE" : "" }

    static func insertStatusRows(_ db: any SQLExecutor, _ changes: [StatusChange]) async throws {
        for chunk in stride(from: 0, to: changes.count, by: 100) {
            let rows = changes[chunk..<min(chunk + 100, changes.count)].map { c -> SQL in
                let r = c.record
                return """
                    (\(bind: c.service.clusterUUID), \(bind: c.service.uuid), \(bind: r.stepMax), \(bind: r.stepSeq),
                        \(bind: r.status.rawValue), \(bind: r.started.map { .timestamp($0) } ?? .null),
                        \(bind: r.ended.map { .timestamp($0) } ?? .null), \(bind: r.message), \(bind: .timestamp(r.created)))
                    """
            }
            try await db.execute(
                "INSERT INTO service_status (cluster_uuid, uuid, step_max, step_seq, status, started, ended, message, created) VALUES "
                    + SQL.join(rows, separator: ", "))
        }
        try await enqueueDeliveries(db, changes)
    }

    /// Claims up to `limit` queued services of a cluster for a session — priority first, then the
    /// oldest — marking them `sent` with a lease. Each service is claimed by exactly one caller
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite). Services created
    /// before `validAfter` are left for the sweeper to expire.
    public func claimServices(
        clusterUUID: String, sessionUUID: String, limit: Int, validAfter: Timestamp, leaseUntil: Timestamp,
        now: Timestamp
    ) async throws -> [StatusChange] {
        let skipLocked: SQL = dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let mapService = serviceMapper
        return try await write("dispatch.claim") { db in
            let rows = try await db.query(
                """
                UPDATE service SET status = \(bind: ServiceStatus.sent.rawValue), step_seq = 0, session_uuid = \(bind: sessionUUID),
                    lease_expires = \(bind: .timestamp(leaseUntil)), attempts = attempts + 1, updated = \(bind: .timestamp(now))
                WHERE id IN (
                    SELECT id FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND status = \(bind: ServiceStatus.regist.rawValue)
                        AND created > \(bind: .timestamp(validAfter))
                    ORDER BY priority DESC, created ASC, id ASC LIMIT \(bind: limit)\(skipLocked))
                RETURNING *
                """)
            let services = try rows.map(mapService).sorted {
                ($0.priority, $1.created.microseconds) > ($1.priority, $0.created.microseconds)
            }
            let changes = services.map { s in
                StatusChange(
                    service: s,
                    record: ServiceStatusRecord(
                        stepMax: s.stepMax, stepSeq: 0, status: .sent, started: now, ended: now, message: nil, created: now))
            }
            try await Self.insertStatusRows(db, changes)
            return changes
        }
    }

    /// Puts back services a poll claimed when its caller went away before receiving them: they
    /// are queued again at once (the delivery does not count as an attempt) instead of waiting
    /// for the lease to lapse. Only services still `sent` to that session change.
    public func releaseClaim(clusterUUID: String, sessionUUID: String, uuids: [String], now: Timestamp) async throws -> [StatusChange] {
        let mapService = serviceMapper
        return try await write("dispatch.release") { db in
            var changes: [StatusChange] = []
            for uuid in uuids {
                let rows = try await db.query(
                    """
                    UPDATE service SET status = \(bind: ServiceStatus.regist.rawValue), session_uuid = NULL, lease_expires = NULL,
                        attempts = attempts - 1, updated = \(bind: .timestamp(now))
                    WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid) AND session_uuid = \(bind: sessionUUID)
                        AND status = \(bind: ServiceStatus.sent.rawValue)
                    RETURNING *
                    """)
                for s in try rows.map(mapService) {
                    changes.append(
                        StatusChange(
                            service: s,
                            record: ServiceStatusRecord(
                                stepMax: s.stepMax, stepSeq: 0, status: .regist, started: nil, ended: now,
                                message: "requeued: the poll's client went away before it received it", created: now)))
                }
            }
            try await Self.insertStatusRows(db, changes)
            return changes
        }
    }

    /// Keeps sessions alive in one transaction: each row's deadline (re-created if an operator
    /// deleted it) and the leases of the services it holds, which only ever grow.
    public func keepAlive(_ sessions: [ClusterSession], now: Timestamp) async throws {
        guard let until = sessions.map(\.expiresAt).max() else { return }
        try await write("dispatch.keepalive") { db in
            for chunk in stride(from: 0, to: sessions.count, by: 200) {
                let batch = sessions[chunk..<min(chunk + 200, sessions.count)]
                let rows = batch.map { s -> SQL in
                    """
                    (\(bind: s.uuid), \(bind: s.clusterUUID), \(bind: s.clusterTokenUUID), \(bind: .timestamp(s.issuedAt)),
                        \(bind: .timestamp(s.expiresAt)), \(bind: s.clientVersion), \(bind: s.clientLibVersion),
                        \(bind: .timestamp(s.created)), \(bind: .timestamp(s.updated)))
                    """
                }
                try await db.execute(
                    """
                    INSERT INTO cluster_session (uuid, cluster_uuid, cluster_client_token_uuid, issued_at_time,
                        expiration_time, client_version, client_lib_version, created, updated) VALUES
                    """ + SQL.join(rows, separator: ", ")
                        + """
                         ON CONFLICT (uuid) DO UPDATE SET expiration_time = excluded.expiration_time, updated = excluded.updated
                        """)
                try await db.execute(
                    """
                    UPDATE service SET lease_expires = \(bind: .timestamp(until))
                    WHERE status IN (1, 2) AND lease_expires < \(bind: .timestamp(until)) AND session_uuid IN (
                    """ + SQL.join(batch.map { "\(bind: $0.uuid)" }, separator: ", ") + ")")
            }
        }
    }

    /// Records a step report with the stored-status rule of the original: the last step's status
    /// is stored as reported, an intermediate failure as failed, anything else as processing; the
    /// result is stored when the last step succeeded. A repeated report changes nothing; a report
    /// for a finished service is refused; a report for a service an operator canceled stores the
    /// report, then ends the service `canceled` and asks the agent to stop.
    public func recordReport(
        clusterUUID: String, uuid: String, sessionUUID: String, report r: StepReportInput, leaseUntil: Timestamp,
        now: Timestamp
    ) async throws -> ReportOutcome {
        let lock = lockClause()
        let mapService = serviceMapper
        return try await write("dispatch.report") { db in
            guard
                var s = try await db.first(
                    "SELECT * FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)\(lock)"
                ).map(mapService)
            else { return .notFound }
            let last = r.sequence + 1 == s.stepMax
            let stored: ServiceStatus = last ? r.status : (r.status == .failed ? .failed : .processing)
            if let latest = try await db.first(
                """
                SELECT * FROM service_status WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                ORDER BY id DESC LIMIT 1
                """
            ).map(Self.statusRecord) {
                // The same report again (same step, status and times), or a late report of an
                // earlier step that a later one overtook: nothing to change.
                let resend =
                    latest.stepSeq == r.sequence && latest.status == stored && latest.started == r.started
                    && latest.ended == r.ended
                let overtaken = latest.stepSeq > r.sequence && latest.status != .sent && latest.status != .regist
                if resend || overtaken { return .duplicate(s, cancel: s.cancelRequested && !s.status.isTerminal) }
            }
            if s.status.isTerminal { return .finished(s) }
            guard s.status == .sent || s.status == .processing, let holder = s.sessionUUID else { return .notHeld(s) }
            if holder != sessionUUID {
                // A newer session of the same cluster token (the agent authenticated again, e.g.
                // after its JWT expired) takes over the services of the older one.
                let rows = try await db.query(
                    "SELECT * FROM cluster_session WHERE uuid IN (\(bind: holder), \(bind: sessionUUID))")
                let byUUID = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.text("uuid"), try Self.session($0)) })
                guard let old = byUUID[holder], let new = byUUID[sessionUUID], old.clusterTokenUUID == new.clusterTokenUUID,
                    new.created > old.created
                else { return .notHeld(s) }
                s.sessionUUID = sessionUUID
            }
            let record = ServiceStatusRecord(
                stepMax: s.stepMax, stepSeq: r.sequence, status: stored, started: r.started, ended: r.ended,
                message: r.error.flatMap { $0.isEmpty ? nil : $0 }, created: now)
            var changes = [StatusChange(service: s, record: record, reported: r.status, result: r.result)]
            s.status = stored
            s.stepSeq = r.sequence
            s.updated = now
            let cancel = s.cancelRequested && !stored.isTerminal
            if cancel {
                s.status = .canceled
                changes.append(
                    StatusChange(
                        service: s,
                        record: ServiceStatusRecord(
                            stepMax: s.stepMax, stepSeq: r.sequence, status: .canceled, started: nil, ended: now,
                            message: "canceled by an operator", created: now)))
            }
            try await Self.insertStatusRows(db, changes)
            try await db.execute(
                """
                UPDATE service SET status = \(bind: s.status.rawValue), step_seq = \(bind: s.stepSeq),
                    lease_expires = \(bind: s.status.isTerminal ? .null : .timestamp(leaseUntil)),
                    session_uuid = \(bind: sessionUUID), updated = \(bind: .timestamp(now))
                WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                """)
            if last, stored == .succeeded {
                try await db.execute(
                    """
                    INSERT INTO service_result (cluster_uuid, uuid, result_type, result, created)
                    VALUES (\(bind: clusterUUID), \(bind: uuid), 1, \(bind: r.result ?? ""), \(bind: .timestamp(now)))
                    ON CONFLICT (cluster_uuid, uuid) DO UPDATE SET result = excluded.result, created = excluded.created
                    """)
            }
            return .recorded(changes[changes.count - 1], cancel: cancel)
        }
    }

    /// Ends or requeues services whose deadline passed: queued ones older than `validAfter`
    /// become `expired`; `sent` ones whose lease lapsed go back to the queue (at most
    /// `maxAttempts` deliveries, then `failed`); `processing` ones whose lease lapsed become
    /// `failed` with "agent lost"; canceled-while-running ones become `canceled`. Safe to run
    /// from several replicas at once: each row changes in one atomic UPDATE.
    public func sweep(now: Timestamp, validAfter: Timestamp, maxAttempts: Int) async throws -> [StatusChange] {
        let skipLocked: SQL = dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let mapService = serviceMapper
        return try await write("dispatch.sweep") { db in
            var changes: [StatusChange] = []
            func apply(_ set: SQL, _ condition: SQL, status: ServiceStatus, message: String) async throws {
                let rows = try await db.query(
                    """
                    UPDATE service SET \(set), updated = \(bind: .timestamp(now))
                    WHERE id IN (SELECT id FROM service WHERE \(condition) LIMIT 500\(skipLocked)) RETURNING *
                    """)
                for s in try rows.map(mapService) {
                    changes.append(
                        StatusChange(
                            service: s,
                            record: ServiceStatusRecord(
                                stepMax: s.stepMax, stepSeq: s.stepSeq, status: status, started: nil, ended: now,
                                message: message, created: now)))
                }
            }
            let lapsed: SQL = "lease_expires < \(bind: .timestamp(now))"
            try await apply(
                "status = 32, session_uuid = NULL, lease_expires = NULL",
                "status = 0 AND created <= \(bind: .timestamp(validAfter))", status: .expired,
                message: "not picked up by an agent within ClientConfig/ServiceValidityPeriod")
            try await apply(
                "status = 16, lease_expires = NULL", "status IN (1, 2) AND cancel_requested = 1 AND \(lapsed)",
                status: .canceled, message: "canceled by an operator")
            try await apply(
                "status = 0, session_uuid = NULL, lease_expires = NULL",
                "status = 1 AND cancel_requested = 0 AND \(lapsed) AND attempts < \(bind: maxAttempts)", status: .regist,
                message: "requeued: the agent that received it stopped before starting it")
            try await apply(
                "status = 8, lease_expires = NULL", "status = 1 AND cancel_requested = 0 AND \(lapsed)", status: .failed,
                message: "agent lost: delivered \(maxAttempts) times and never started")
            try await apply(
                "status = 8, lease_expires = NULL", "status = 2 AND cancel_requested = 0 AND \(lapsed)", status: .failed,
                message: "agent lost: the agent running it stopped reporting")
            try await Self.insertStatusRows(db, changes)
            return changes
        }
    }

    /// The earliest moment the sweeper has something to do: a lease that lapses, or a queued
    /// service that expires (`created + validity`). Nil when nothing is pending.
    public func nextDeadline(validity: GoDuration) async throws -> Timestamp? {
        try await read("dispatch.deadline") { db in
            let lease = try await db.first("SELECT MIN(lease_expires) AS t FROM service WHERE status IN (1, 2)")?
                .optionalTimestamp("t")
            let queued = try await db.first("SELECT MIN(created) AS t FROM service WHERE status = 0")?
                .optionalTimestamp("t")
            return [lease, queued.map { $0.adding(validity) }].compactMap { $0 }.min()
        }
    }
}
