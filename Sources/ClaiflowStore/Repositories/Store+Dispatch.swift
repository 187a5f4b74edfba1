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

extension Store {
    func lockClause() -> SQL { dialect == .postgres ? " FOR UPDATE" : "" }

    /// The statuses of services an agent session holds under a lease (`sent`, `processing`).
    static var heldStatuses: [ServiceStatus] { ServiceStatus.allCases.filter(\.isHeld) }

    /// Writes status rows and what follows from them in the same transaction: the webhook
    /// deliveries (outbox) and the progress of the runs whose services ended
    /// (``advanceRuns(_:_:)``). Returns what that did to runs.
    @discardableResult
    static func insertStatusRows(_ db: any SQLExecutor, _ changes: [StatusChange]) async throws -> RunAdvance {
        try await insertStatusRecords(db, changes)
        return try await advanceRuns(db, changes)
    }

    /// The columns of a `service_status` row, in the order of ``statusRowValues(_:)``.
    static let statusColumns: SQL = "(cluster_uuid, uuid, step_max, step_seq, status, started, ended, message, created)"

    /// The values of a change's `service_status` row, comma-separated.
    static func statusRowValues(_ c: StatusChange) -> SQL {
        let r = c.record
        return """
            \(bind: c.service.clusterUUID), \(bind: c.service.uuid), \(bind: r.stepMax), \(bind: r.stepSeq),
                \(bind: r.status), \(bind: r.started.map { .timestamp($0) } ?? .null),
                \(bind: r.ended.map { .timestamp($0) } ?? .null), \(bind: r.message.map(ReportText.encode)),
                \(bind: .timestamp(r.created))
            """
    }

    /// Writes status rows and their webhook deliveries.
    static func insertStatusRecords(_ db: any SQLExecutor, _ changes: [StatusChange]) async throws {
        for chunk in stride(from: 0, to: changes.count, by: 100) {
            let rows = changes[chunk..<min(chunk + 100, changes.count)].map { "(" + statusRowValues($0) + ")" }
            try await db.execute("INSERT INTO service_status " + statusColumns + " VALUES " + SQL.join(rows, separator: ", "))
        }
        try await enqueueDeliveries(db, changes)
        try await notifyStatus(db, StatusEvent.of(changes))
    }

    /// Claims up to `limit` queued services of a cluster for a session — priority first, then the
    /// oldest — marking them `sent` with a lease. Each service is claimed by exactly one caller
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite). Services whose
    /// validity clock started before `validAfter` are left for the sweeper to expire; a paused
    /// cluster's services are left queued. A service with a `timeout` gets its end (`now` plus
    /// it) for the sweep.
    ///
    /// A session whose agent does not run v2 flows (`runsFlowV2` false: the original agent)
    /// claims no service that needs them; when it claims nothing, the v2 services it left
    /// waiting get a status row saying so (once each), unless an agent that runs them holds an
    /// unexpired session of the cluster: `AgentVersion.flowV2WaitMessage`.
    public func claimServices(
        clusterUUID: String, sessionUUID: String, limit: Int, validAfter: Timestamp, leaseUntil: Timestamp,
        now: Timestamp, runsFlowV2: Bool = true
    ) async throws -> [StatusChange] {
        let skipLocked: SQL = dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        // PostgreSQL: an unpaused cluster's row is read with a share lock, so that a claim running
        // while a pause commits waits for it and then, re-reading the row, finds it paused (read
        // committed would otherwise let a claim whose snapshot predates the pause deliver once
        // after it commits). A service whose cluster row is gone stays claimable, as before.
        let notPaused: SQL =
            dialect == .postgres
            ? """
            (EXISTS (SELECT 1 FROM cluster WHERE uuid = \(bind: clusterUUID) AND paused = 0 FOR SHARE)
                OR NOT EXISTS (SELECT 1 FROM cluster WHERE uuid = \(bind: clusterUUID)))
            """
            : "NOT EXISTS (SELECT 1 FROM cluster WHERE uuid = \(bind: clusterUUID) AND paused = 1)"
        let mapService = serviceMapper
        let flowCondition: SQL = runsFlowV2 ? "" : " AND flow_v2 = 0"
        return try await write("dispatch.claim") { db in
            let rows = try await db.query(
                """
                UPDATE service SET status = \(bind: ServiceStatus.sent), step_seq = 0, session_uuid = \(bind: sessionUUID),
                    lease_expires = \(bind: .timestamp(leaseUntil)), attempts = attempts + 1, updated = \(bind: .timestamp(now)),
                    timeout_at = CASE WHEN timeout > 0 THEN \(bind: now.microseconds) + timeout END
                WHERE id IN (
                    SELECT id FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND status = \(bind: ServiceStatus.regist)
                        AND held = 0 AND created + validity_shift > \(bind: .timestamp(validAfter))\(flowCondition)
                        AND \(notPaused)
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
            var noted: [StatusChange] = []
            if !runsFlowV2, changes.isEmpty {
                noted = try await Self.noteWaitingForFlowV2(db, clusterUUID: clusterUUID, now: now, map: mapService)
            }
            try await Self.insertStatusRows(db, changes + noted)
            return changes
        }
    }

    /// Marks the cluster's queued v2 services not yet marked (`flow_v2` 1 → 2) with a status row
    /// saying that they wait for an agent that runs v2 flows — unless such an agent has an
    /// unexpired session on the cluster. Returns the rows to write (status stays `regist`).
    static func noteWaitingForFlowV2(
        _ db: any SQLExecutor, clusterUUID: String, now: Timestamp, map: @Sendable (SQLRow) throws -> Service
    ) async throws -> [StatusChange] {
        // Almost always nothing: one read of the cluster's queue, as the claim's.
        let waiting = try await db.first(
            """
            SELECT 1 AS x FROM service
            WHERE cluster_uuid = \(bind: clusterUUID) AND status = \(bind: ServiceStatus.regist) AND flow_v2 = 1 AND held = 0
            LIMIT 1
            """)
        guard waiting != nil else { return [] }
        let sessions = try await db.query(
            """
            SELECT client_lib_version FROM cluster_session
            WHERE cluster_uuid = \(bind: clusterUUID) AND expiration_time > \(bind: .timestamp(now))
            """)
        if sessions.contains(where: { AgentVersion.runsFlowV2(clientLibVersion: $0.optionalText("client_lib_version")) }) {
            return []
        }
        let rows = try await db.query(
            """
            UPDATE service SET flow_v2 = 2
            WHERE cluster_uuid = \(bind: clusterUUID) AND status = \(bind: ServiceStatus.regist) AND flow_v2 = 1 AND held = 0
            RETURNING *
            """)
        let message = AgentVersion.flowV2WaitMessage
        let services = try rows.map(map)
        for s in services where s.runUUID != nil {
            try await db.execute(
                """
                UPDATE run_cluster SET message = \(bind: message)
                WHERE run_uuid = \(bind: s.runUUID) AND cluster_uuid = \(bind: clusterUUID)
                """)
        }
        return services.map { s in
            StatusChange(
                service: s,
                record: ServiceStatusRecord(
                    stepMax: s.stepMax, stepSeq: 0, status: .regist, started: nil, ended: nil, message: message, created: now))
        }
    }

    /// Puts back services a poll claimed when its caller went away before receiving them: they
    /// are queued again at once (the delivery does not count as an attempt) instead of waiting
    /// for the lease to lapse. Only services still `sent` to that session change.
    public func releaseClaim(
        clusterUUID: String, sessionUUID: String, uuids: [String], now: Timestamp
    ) async throws -> [StatusChange] {
        let mapService = serviceMapper
        return try await write("dispatch.release") { db in
            var changes: [StatusChange] = []
            for uuid in uuids {
                let rows = try await db.query(
                    """
                    UPDATE service SET status = \(bind: ServiceStatus.regist), session_uuid = NULL, lease_expires = NULL,
                        attempts = attempts - 1, updated = \(bind: .timestamp(now))
                    WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid) AND session_uuid = \(bind: sessionUUID)
                        AND status = \(bind: ServiceStatus.sent)
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
    /// deleted it) and the leases of the services it runs (`processing`), which only ever grow.
    ///
    /// A `sent` service's lease is not extended: the agent may never have received it (the server
    /// stopped, or a proxy dropped the poll's answer, after the claim committed). Only a report,
    /// which proves receipt, renews it (``recordReport(clusterUUID:uuid:sessionUUID:report:leaseUntil:now:)``);
    /// otherwise it lapses and the sweep offers the service again.
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
                    WHERE status = \(bind: ServiceStatus.processing) AND lease_expires < \(bind: .timestamp(until))
                        AND session_uuid IN (
                    """ + SQL.join(batch.map { "\(bind: $0.uuid)" }, separator: ", ") + ")")
            }
        }
    }

    /// Records a step report by ``ServiceReportRule``: the last step's status is stored as
    /// reported, an intermediate failure as failed, anything else as processing; the result is
    /// stored when the last step succeeded. A repeated report changes nothing; a report for a
    /// finished service is refused; a report for a service an operator canceled stores the
    /// report, then ends the service `canceled` and asks the agent to stop.
    public func recordReport(
        clusterUUID: String, uuid: String, sessionUUID: String, report r: StepReportInput, leaseUntil: Timestamp,
        now: Timestamp
    ) async throws -> ReportOutcome {
        let lock = lockClause()
        let mapService = serviceMapper
        let (outcome, released) = try await write("dispatch.report") { db -> (ReportOutcome, RunAdvance) in
            guard
                let s = try await db.first(
                    "SELECT * FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)\(lock)"
                ).map(mapService)
            else { return (.notFound, .none) }
            let latest = try await db.first(
                """
                SELECT * FROM service_status WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                ORDER BY id DESC LIMIT 1
                """
            ).map(Self.statusRecord)
            let rule = ServiceReportRule(service: s, latest: latest, report: r, reporter: sessionUUID, now: now)
            var decision = rule.decision
            if case .heldByAnotherSession(let holder) = decision {
                let rows = try await db.query(
                    "SELECT * FROM cluster_session WHERE uuid IN (\(bind: holder), \(bind: sessionUUID))")
                let byUUID = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.text("uuid"), try Self.session($0)) })
                decision = rule.decision(holder: byUUID[holder], reporter: byUUID[sessionUUID])
            }
            let accepted: ServiceReportRule.Acceptance
            switch decision {
            case .duplicate(let cancel): return (.duplicate(s, cancel: cancel), .none)
            case .finished: return (.finished(s), .none)
            case .notHeld, .heldByAnotherSession: return (.notHeld(s), .none)
            case .accepted(let a): accepted = a
            }
            var changes = [
                StatusChange(service: accepted.serviceAfterStep, record: accepted.step, reported: r.status, result: r.result)
            ]
            if let canceled = accepted.canceled { changes.append(StatusChange(service: accepted.service, record: canceled)) }
            let released = try await Self.insertStatusRows(db, changes)
            let after = accepted.service
            try await db.execute(
                """
                UPDATE service SET status = \(bind: after.status), step_seq = \(bind: after.stepSeq),
                    lease_expires = \(bind: after.status.isTerminal ? .null : .timestamp(leaseUntil)),
                    session_uuid = \(bind: after.sessionUUID), updated = \(bind: .timestamp(after.updated))
                WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                """)
            if accepted.storesResult {
                try await db.execute(
                    """
                    INSERT INTO service_result (cluster_uuid, uuid, result_type, result, created)
                    VALUES (\(bind: clusterUUID), \(bind: uuid), 1, \(bind: ReportText.encode(r.result ?? "")),
                        \(bind: .timestamp(now)))
                    ON CONFLICT (cluster_uuid, uuid) DO UPDATE SET result = excluded.result, created = excluded.created
                    """)
            }
            return (.recorded(changes[changes.count - 1], cancel: accepted.cancel), released)
        }
        announceReleases(released)
        return outcome
    }

    /// Ends or requeues services whose deadline passed, by ``ServiceSweepRule``: queued ones
    /// older than `validAfter` become `expired`; `sent` ones whose lease lapsed go back to the
    /// queue (at most `maxAttempts` deliveries, then `failed`); `processing` ones whose lease
    /// lapsed become `failed` with "agent lost"; canceled-while-running ones become `canceled`;
    /// delivered ones still running `timeoutGrace` after their timeout ended become `failed`
    /// with "timed out". Safe to run from several replicas at once: each row changes in one
    /// atomic UPDATE.
    public func sweep(
        now: Timestamp, validAfter: Timestamp, maxAttempts: Int, timeoutGrace: GoDuration = .seconds(30)
    ) async throws -> [StatusChange] {
        let skipLocked: SQL = dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let mapService = serviceMapper
        let transitions = ServiceSweepRule(maxAttempts: maxAttempts, timeoutGrace: timeoutGrace).transitions
        let (changes, released) = try await write("dispatch.sweep") { db -> ([StatusChange], RunAdvance) in
            var changes: [StatusChange] = []
            for t in transitions {
                let rows = try await db.query(
                    """
                    UPDATE service SET \(Self.sweepAssignments(t)), updated = \(bind: .timestamp(now))
                    WHERE id IN (
                        SELECT id FROM service WHERE \(Self.sweepCondition(t, now: now, validAfter: validAfter))
                        LIMIT 500\(skipLocked))
                    RETURNING *
                    """)
                for s in try rows.map(mapService) {
                    changes.append(
                        StatusChange(
                            service: s,
                            record: ServiceStatusRecord(
                                stepMax: s.stepMax, stepSeq: s.stepSeq, status: t.to, started: nil, ended: now,
                                message: t.message, created: now)))
                }
            }
            return (changes, try await Self.insertStatusRows(db, changes))
        }
        announceReleases(released)
        return changes
    }

    /// The `SET` list of a sweep transition: the new status, no lease, the session let go of.
    static func sweepAssignments(_ t: ServiceSweepRule.Transition) -> SQL {
        "status = \(bind: t.to), \(raw: t.releasesSession ? "session_uuid = NULL, " : "")lease_expires = NULL, timeout_at = NULL"
    }

    /// The `WHERE` condition of a sweep transition (served by the `(status, lease_expires)` and
    /// `service_validity` (`status, created + validity_shift`) indexes); paused clusters'
    /// services do not expire, nor do a run's held ones (their clock starts when released).
    static func sweepCondition(_ t: ServiceSweepRule.Transition, now: Timestamp, validAfter: Timestamp) -> SQL {
        var condition: SQL = "status IN (\(bind: t.from))"
        if let requested = t.cancelRequested { condition += " AND cancel_requested = \(bind: requested ? 1 : 0)" }
        switch t.deadline {
        case .validityPeriod:
            // Not `created <= validAfter` too: a run's `cluster_timeout` may start the clock before `created`.
            condition += " AND held = 0 AND created + validity_shift <= \(bind: .timestamp(validAfter))"
            condition += " AND \(raw: Self.notPausedCondition)"
        case .lease: condition += " AND lease_expires < \(bind: .timestamp(now))"
        case .timeout(let grace):
            condition += " AND timeout_at < \(bind: now.adding(GoDuration(nanoseconds: -grace.nanoseconds)).microseconds)"
        }
        if let limit = t.attemptsBelow { condition += " AND attempts < \(bind: limit)" }
        return condition
    }

    /// A `service` row's cluster is not paused (their validity clock stands still).
    static let notPausedCondition = "cluster_uuid NOT IN (SELECT uuid FROM cluster WHERE paused = 1)"

    /// The earliest moment the sweeper has something to do: a lease that lapses, a running
    /// service's timeout plus `timeoutGrace` ends, or a queued service of a cluster that is not
    /// paused expires (`created + validity_shift + validity`, read in the order of the
    /// `service_validity` index). Nil when nothing is pending.
    public func nextDeadline(validity: GoDuration, timeoutGrace: GoDuration = .seconds(30)) async throws -> Timestamp? {
        try await read("dispatch.deadline") { db in
            let lease = try await db.first(
                "SELECT MIN(lease_expires) AS t FROM service WHERE status IN (\(bind: Self.heldStatuses))")?
                .optionalTimestamp("t")
            let timeout = try await db.first(
                "SELECT MIN(timeout_at) AS t FROM service WHERE status IN (\(bind: Self.heldStatuses))")?
                .optionalTimestamp("t")
            let queued = try await db.first(
                """
                SELECT created + validity_shift AS t FROM service WHERE status = \(bind: ServiceStatus.regist)
                    AND held = 0 AND \(raw: Self.notPausedCondition) ORDER BY created + validity_shift LIMIT 1
                """
            )?.optionalTimestamp("t")
            return [lease, queued.map { $0.adding(validity) }, timeout.map { $0.adding(timeoutGrace) }].compactMap { $0 }.min()
        }
    }
}

extension Store {
    /// Which of these services of a cluster an operator asked to cancel (the agent running them
    /// must stop them), in the order given. One indexed read.
    public func cancelRequested(clusterUUID: String, uuids: [String]) async throws -> [String] {
        guard !uuids.isEmpty else { return [] }
        let list = SQL.join(uuids.map { "\(bind: $0)" }, separator: ", ")
        let found = try await read("dispatch.cancellations") { db in
            Set(
                try await db.query(
                    "SELECT uuid FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND cancel_requested = 1 AND uuid IN ("
                        + list + ")"
                ).map { try $0.text("uuid") })
        }
        return uuids.filter(found.contains)
    }
}
