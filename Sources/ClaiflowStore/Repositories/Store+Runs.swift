import ClaiflowCore
import ClaiflowQuery

/// A run as its create use case built it, for ``Store/insertRun(_:)``.
public struct RunCreation: Sendable {
    /// The run; its progress is that of a run with every cluster held.
    public var run: Run
    /// Every target cluster in position order, skipped ones included.
    public var clusters: [RunCluster]
    /// One service per cluster that is not skipped, in position order, carrying the run's uuid.
    public var services: [Service]
    /// Microseconds added to a released service's validity clock start: `cluster_timeout`
    /// minus the validity period, so that the validity sweep expires it `cluster_timeout` after
    /// its release; 0 without a `cluster_timeout`.
    public var timeoutShift: Int64
    /// The schedule tick this run is for: claimed in the run's transaction (none is written
    /// when another replica claimed it first, see ``ScheduleTickTaken``).
    public var scheduleTick: ScheduleTickClaim?

    public init(
        run: Run, clusters: [RunCluster], services: [Service], timeoutShift: Int64, scheduleTick: ScheduleTickClaim? = nil
    ) {
        self.run = run
        self.clusters = clusters
        self.services = services
        self.timeoutShift = timeoutShift
        self.scheduleTick = scheduleTick
    }
}

/// What the status changes of one transaction did to runs (``Store/advanceRuns(_:_:)``).
struct RunAdvance: Sendable {
    /// The clusters whose held run services were released (their polls should wake).
    var released: [String] = []
    /// A run ended with a webhook delivery enqueued (the deliverer should wake).
    var deliveries = false

    /// Nothing changed.
    static let none = RunAdvance()
}

/// The stored form of a run cluster's status: `held` and `released` become `pending` or
/// `running` by its service's status when shown.
enum RunClusterRow {
    static let held = "held"
    static let released = "released"
    static let unfinished = [held, released]
}

extension Store {
    static func run(_ r: SQLRow) throws -> Run {
        guard let intent = RunState(rawValue: try r.text("intent")) else { throw StoreError.corrupt("unknown run intent") }
        let strategy = try RunStrategy(json: try JSONValue.parse(try r.text("strategy")))
        let progress = RunProgress(
            total: Int(try r.integer("total")), skipped: Int(try r.integer("skipped")), held: Int(try r.integer("held")),
            active: Int(try r.integer("active")), succeeded: Int(try r.integer("succeeded")),
            failed: Int(try r.integer("failed")), expired: Int(try r.integer("expired")),
            canceled: Int(try r.integer("canceled")), maxParallel: Int(try r.integer("max_parallel")),
            maxFailures: Int(try r.integer("max_failures")), intent: intent)
        return Run(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            templateUUID: try r.text("template_uuid"), selector: r.optionalText("selector"), strategy: strategy,
            webhook: r.optionalText("webhook"), includePaused: try r.integer("include_paused") != 0,
            serviceUUID: try r.text("service_uuid"), progress: progress, created: try r.timestamp("created"),
            updated: try r.timestamp("updated"), ended: r.optionalTimestamp("ended"))
    }

    /// A run cluster row; `serviceStatus` (joined) tells a released one's `pending` from `running`.
    static func runCluster(_ r: SQLRow) throws -> RunCluster {
        let stored = try r.text("status")
        let status: RunCluster.Status
        switch stored {
        case RunClusterRow.held: status = .pending
        case RunClusterRow.released:
            let s = r.optionalInteger("service_status").flatMap { ServiceStatus(rawValue: Int($0)) } ?? .regist
            status = RunCluster.Status(s)
        default:
            guard let s = RunCluster.Status(rawValue: stored) else { throw StoreError.corrupt("unknown run cluster status") }
            status = s
        }
        return RunCluster(
            position: Int(try r.integer("position")), clusterUUID: try r.text("cluster_uuid"),
            clusterName: try r.text("cluster_name"), labels: try ClusterLabels(json: try r.text("labels")),
            status: status, message: r.optionalText("message"), started: r.optionalTimestamp("started"),
            ended: r.optionalTimestamp("ended"))
    }

    /// Writes the run's counters, state and end.
    static func updateRun(_ db: any SQLExecutor, _ run: Run) async throws {
        let p = run.progress
        try await db.execute(
            """
            UPDATE run SET held = \(bind: p.held), active = \(bind: p.active), succeeded = \(bind: p.succeeded),
                failed = \(bind: p.failed), expired = \(bind: p.expired), canceled = \(bind: p.canceled),
                intent = \(bind: p.intent.rawValue), updated = \(bind: .timestamp(run.updated)),
                ended = \(bind: run.ended.map { .timestamp($0) } ?? .null)
            WHERE uuid = \(bind: run.uuid)
            """)
    }

    /// Creates a run in one transaction: the run, its clusters, and its services — the first
    /// `max_parallel` released, the others held (agents cannot claim them). Returns the clusters
    /// whose services were released (their polls should wake).
    ///
    /// Every target cluster must still exist when the run is written: one deleted since the
    /// target was resolved is a 409 naming it, and nothing is written. On PostgreSQL the check
    /// takes a `FOR KEY SHARE` lock on the clusters' rows, so that a delete committing meanwhile
    /// waits for the run (and then deletes its services with the cluster) instead of leaving
    /// services of a cluster that no longer exists.
    public func insertRun(_ c: RunCreation) async throws -> [String] {
        let box = inputsCipher
        let sealed = try c.services.map { try box?.seal($0.inputs) ?? $0.inputs }
        var run = c.run
        let firstWave: Int
        switch run.progress.next() {
        case .release(let n): firstWave = n
        case .none, .cancelHeld: firstWave = 0
        }
        run.progress.released(firstWave)
        if run.progress.isFinished { run.ended = run.created }
        let released = Array(c.services.prefix(firstWave).map(\.clusterUUID))
        let finished = run
        let targets = c.clusters.map(\.clusterUUID)
        do {
            try await write("run.insert") { db in
                if let missing = try await Self.firstMissingCluster(db, targets, lock: true) {
                    throw ClaiflowError(
                        .conflict,
                        "cluster \"\(missing)\" of the run's target was deleted while the run was being created; "
                            + "nothing was written")
                }
                let p = finished.progress
                try await db.execute(
                    """
                    INSERT INTO run (uuid, name, summary, template_uuid, selector, strategy, webhook, include_paused,
                        service_uuid, timeout_shift, total, skipped, held, active, succeeded, failed, expired, canceled,
                        max_parallel, max_failures, intent, created, updated, ended)
                    VALUES (\(bind: finished.uuid), \(bind: finished.name), \(bind: finished.summary),
                        \(bind: finished.templateUUID), \(bind: finished.selector), \(bind: finished.strategy.json.serialized()),
                        \(bind: finished.webhook), \(bind: finished.includePaused ? 1 : 0), \(bind: finished.serviceUUID),
                        \(bind: c.timeoutShift), \(bind: p.total), \(bind: p.skipped), \(bind: p.held), \(bind: p.active),
                        0, 0, 0, 0, \(bind: p.maxParallel), \(bind: p.maxFailures), \(bind: p.intent.rawValue),
                        \(bind: .timestamp(finished.created)), \(bind: .timestamp(finished.updated)),
                        \(bind: finished.ended.map { .timestamp($0) } ?? .null))
                    """)
                let releasedSet = Set(released)
                for chunk in stride(from: 0, to: c.clusters.count, by: 100) {
                    let rows = c.clusters[chunk..<min(chunk + 100, c.clusters.count)].map { rc -> SQL in
                        let status =
                            rc.status == .skipped
                            ? "skipped" : releasedSet.contains(rc.clusterUUID) ? RunClusterRow.released : RunClusterRow.held
                        let started: SQLValue = status == RunClusterRow.released ? .timestamp(finished.created) : .null
                        return """
                            (\(bind: finished.uuid), \(bind: rc.position), \(bind: rc.clusterUUID), \(bind: rc.clusterName),
                                \(bind: rc.labels.json), \(bind: status), \(bind: rc.message), \(bind: started),
                                \(bind: rc.status == .skipped ? .timestamp(finished.created) : .null))
                            """
                    }
                    try await db.execute(
                        """
                        INSERT INTO run_cluster (run_uuid, position, cluster_uuid, cluster_name, labels, status, message,
                            started, ended) VALUES
                        """ + SQL.join(rows, separator: ", "))
                }
                try await Self.insertServiceRows(
                    db, c.services, sealedInputs: sealed,
                    placement: { i in i < firstWave ? (false, c.timeoutShift) : (true, 0) })
                if let tick = c.scheduleTick { try await Self.claimTick(db, tick, run: finished.uuid) }
                Self.notify(db, released.map { .wake(cluster: $0) })
                if finished.ended != nil { try await Self.enqueueRunDelivery(db, finished) }
            }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "run \"\(c.run.uuid)\" already exists")
        }
        return released
    }

    /// One run, or nil.
    public func run(uuid: String) async throws -> Run? {
        try await read("run.get") { db in
            try await db.first("SELECT * FROM run WHERE uuid = \(bind: uuid)").map(Self.run)
        }
    }

    /// One run with its clusters in position order (a released one `pending` or `running` by
    /// its service), or nil.
    public func runDetail(uuid: String) async throws -> (Run, [RunCluster])? {
        try await read("run.detail") { db in
            guard let run = try await db.first("SELECT * FROM run WHERE uuid = \(bind: uuid)").map(Self.run) else {
                return nil
            }
            return (run, try await Self.runClusters(db, run))
        }
    }

    static func runClusters(_ db: any SQLExecutor, _ run: Run) async throws -> [RunCluster] {
        try await db.query(
            """
            SELECT rc.*, s.status AS service_status FROM run_cluster rc
                LEFT JOIN service s ON s.cluster_uuid = rc.cluster_uuid AND s.uuid = \(bind: run.serviceUUID)
            WHERE rc.run_uuid = \(bind: run.uuid) ORDER BY rc.position
            """
        ).map(Self.runCluster)
    }

    /// A run's clusters with their services' results (text as the agent sent it) and their last
    /// message, in position order; nil when the run does not exist.
    public func runResults(uuid: String) async throws -> [(cluster: RunCluster, result: String?)]? {
        try await read("run.results") { db in
            guard let run = try await db.first("SELECT * FROM run WHERE uuid = \(bind: uuid)").map(Self.run) else {
                return nil
            }
            let rows = try await db.query(
                """
                SELECT rc.*, s.status AS service_status, r.result AS service_result FROM run_cluster rc
                    LEFT JOIN service s ON s.cluster_uuid = rc.cluster_uuid AND s.uuid = \(bind: run.serviceUUID)
                    LEFT JOIN service_result r ON r.cluster_uuid = rc.cluster_uuid AND r.uuid = \(bind: run.serviceUUID)
                WHERE rc.run_uuid = \(bind: run.uuid) ORDER BY rc.position
                """)
            return try rows.map { row in
                (try Self.runCluster(row), row.optionalText("service_result").map(ReportText.decode))
            }
        }
    }

    /// Lists runs (without their clusters), newest first unless the query orders them.
    public func runs(_ query: ListQuery) async throws -> [Run] {
        try await list("run.list", table: "run", query: query, newestFirst: true, map: Self.run)
    }

    /// What a run cancel did.
    public enum RunCancelOutcome: Sendable {
        /// Canceled (or already canceled and still ending): the run after it.
        case canceled(Run)
        /// The run had already ended.
        case alreadyEnded(Run)
    }

    /// Cancels a run in one transaction: its held services end `canceled`, and its released
    /// ones by ``ServiceCancelRule`` (a queued one ends `canceled`, a running one is asked to
    /// stop); nil when it does not exist.
    public func cancelRun(uuid: String, now: Timestamp) async throws -> RunCancelOutcome? {
        let lock = lockClause()
        let mapService = serviceMapper
        let unfinished: [ServiceStatus] = [.regist, .sent, .processing]
        return try await write("run.cancel") { db in
            // PostgreSQL: the run's released services are locked before the run, the order in
            // which a report locks them (its service, then — as it ends — its run), so that a
            // cancel and the reports of the same run wait for each other instead of deadlocking.
            // (A service released meanwhile by a report is locked after the run, below; should
            // that deadlock, PostgreSQL aborts one side and ``PostgresDatabase`` runs it again.)
            if db.dialect == .postgres {
                _ = try await db.query(
                    """
                    SELECT id FROM service WHERE run_uuid = \(bind: uuid) AND held = 0 AND status IN (\(bind: unfinished))
                    ORDER BY id FOR UPDATE
                    """)
            }
            guard var run = try await db.first("SELECT * FROM run WHERE uuid = \(bind: uuid)\(lock)").map(Self.run) else {
                return nil
            }
            if run.ended != nil { return .alreadyEnded(run) }
            let action = run.progress.cancel()
            run.updated = now
            if action == .cancelHeld { try await Self.cancelHeld(db, &run, now: now) }
            if run.progress.isFinished { run.ended = now }
            try await Self.updateRun(db, run)
            if run.ended != nil { try await Self.enqueueRunDelivery(db, run) }
            let running = try await db.query(
                """
                SELECT * FROM service WHERE run_uuid = \(bind: uuid) AND held = 0
                    AND status IN (\(bind: unfinished))\(lock)
                """
            ).map(mapService)
            for s in running {
                switch ServiceCancelRule.decide(s, now: now) {
                case .alreadyFinished: continue
                case .canceled(let after, let record):
                    try await db.execute(
                        """
                        UPDATE service SET status = \(bind: after.status), updated = \(bind: .timestamp(after.updated))
                        WHERE cluster_uuid = \(bind: s.clusterUUID) AND uuid = \(bind: s.uuid)
                        """)
                    try await Self.insertStatusRows(db, [StatusChange(service: after, record: record)])
                case .requested:
                    try await db.execute(
                        """
                        UPDATE service SET cancel_requested = 1, updated = \(bind: .timestamp(now))
                        WHERE cluster_uuid = \(bind: s.clusterUUID) AND uuid = \(bind: s.uuid)
                        """)
                }
            }
            return .canceled(try await db.first("SELECT * FROM run WHERE uuid = \(bind: uuid)").map(Self.run) ?? run)
        }
    }

    /// Ends every held service of a stopped or canceled run `canceled`, with the reason.
    static func cancelHeld(_ db: any SQLExecutor, _ run: inout Run, now: Timestamp) async throws {
        let message = run.progress.stopMessage
        let n = try await db.execute(
            """
            UPDATE run_cluster SET status = \(bind: RunCluster.Status.canceled.rawValue), message = \(bind: message),
                ended = \(bind: .timestamp(now))
            WHERE run_uuid = \(bind: run.uuid) AND status = \(bind: RunClusterRow.held)
            """)
        let services = try await db.query(
            """
            UPDATE service SET status = \(bind: ServiceStatus.canceled), held = 0, updated = \(bind: .timestamp(now))
            WHERE run_uuid = \(bind: run.uuid) AND held = 1 AND status = \(bind: ServiceStatus.regist)
            RETURNING *
            """
        ).map(Self.service)
        try await insertStatusRecords(
            db,
            services.map { s in
                StatusChange(
                    service: s,
                    record: ServiceStatusRecord(
                        stepMax: s.stepMax, stepSeq: s.stepSeq, status: .canceled, started: nil, ended: now,
                        message: message, created: now))
            })
        run.progress.heldCanceled(n)
    }

    /// Releases the next `n` held services of a run in position order; returns their clusters.
    static func release(_ db: any SQLExecutor, _ run: inout Run, _ n: Int, now: Timestamp) async throws -> [String] {
        let rows = try await db.query(
            """
            SELECT position, cluster_uuid FROM run_cluster WHERE run_uuid = \(bind: run.uuid)
                AND status = \(bind: RunClusterRow.held) ORDER BY position LIMIT \(bind: n)
            """)
        guard !rows.isEmpty else { return [] }
        let clusters = try rows.map { try $0.text("cluster_uuid") }
        let positions = try rows.map { try $0.integer("position") }
        try await db.execute(
            """
            UPDATE run_cluster SET status = \(bind: RunClusterRow.released), started = \(bind: .timestamp(now))
            WHERE run_uuid = \(bind: run.uuid) AND position IN (
            """ + SQL.join(positions.map { "\(bind: $0)" }, separator: ", ") + ")")
        let shift =
            try await db.first("SELECT timeout_shift FROM run WHERE uuid = \(bind: run.uuid)")?
            .integer("timeout_shift") ?? 0
        try await db.execute(
            """
            UPDATE service SET held = 0, validity_shift = \(bind: now.microseconds + shift) - created,
                updated = \(bind: .timestamp(now))
            WHERE uuid = \(bind: run.serviceUUID) AND held = 1 AND cluster_uuid IN (
            """ + SQL.join(clusters.map { "\(bind: $0)" }, separator: ", ") + ")")
        notify(db, clusters.map { .wake(cluster: $0) })
        run.progress.released(rows.count)
        return clusters
    }

    /// Moves runs on as their services end, in the transaction that ends them: the run cluster
    /// row, the run's counters, the next held services released (or, past the failure
    /// threshold, all of them canceled), and the run's webhook delivery when it ends. Work per
    /// ended service is constant, whatever the size of the run. Returns the clusters whose
    /// services were released and whether a run delivery was enqueued.
    static func advanceRuns(_ db: any SQLExecutor, _ changes: [StatusChange]) async throws -> RunAdvance {
        var ended = changes.filter { $0.service.runUUID != nil && $0.record.status.isTerminal }
        guard !ended.isEmpty else { return .none }
        // A service's last terminal change is its end (a report stored, then canceled).
        var seen = Set<String>()
        ended = ended.reversed().filter { seen.insert($0.service.clusterUUID + "/" + $0.service.uuid).inserted }.reversed()
        let lock: SQL = db.dialect == .postgres ? " FOR UPDATE" : ""
        var advance = RunAdvance()
        for c in ended {
            guard let runUUID = c.service.runUUID else { continue }
            let now = c.record.created
            guard
                let row = try await db.first(
                    """
                    SELECT status FROM run_cluster WHERE run_uuid = \(bind: runUUID)
                        AND cluster_uuid = \(bind: c.service.clusterUUID)\(lock)
                    """),
                case let stored = try row.text("status"), RunClusterRow.unfinished.contains(stored)
            else { continue }
            try await db.execute(
                """
                UPDATE run_cluster SET status = \(bind: c.record.status.name), message = \(bind: c.record.message),
                    ended = \(bind: .timestamp(now))
                WHERE run_uuid = \(bind: runUUID) AND cluster_uuid = \(bind: c.service.clusterUUID)
                """)
            guard var run = try await db.first("SELECT * FROM run WHERE uuid = \(bind: runUUID)\(lock)").map(Self.run)
            else { continue }
            run.updated = now
            switch run.progress.serviceEnded(c.record.status, wasHeld: stored == RunClusterRow.held) {
            case .none: break
            case .release(let n): advance.released += try await release(db, &run, n, now: now)
            case .cancelHeld: try await cancelHeld(db, &run, now: now)
            }
            if run.progress.isFinished, run.ended == nil { run.ended = now }
            try await updateRun(db, run)
            if run.ended == now, try await enqueueRunDelivery(db, run) { advance.deliveries = true }
        }
        return advance
    }

    /// The run's one webhook delivery when it ends (transactional outbox), with the run object
    /// as its payload. Its `cluster_uuid` is empty and its `service_uuid` is the run's uuid.
    /// Returns whether it was enqueued (the run names a webhook that exists).
    @discardableResult
    static func enqueueRunDelivery(_ db: any SQLExecutor, _ run: Run) async throws -> Bool {
        guard let hook = run.webhook,
            try await db.first("SELECT uuid FROM webhook WHERE uuid = \(bind: hook)") != nil
        else { return false }
        let now = run.ended ?? run.updated
        let payload = run.json(clusters: try await runClusters(db, run)).serialized()
        try await db.execute(
            """
            INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, attempts,
                next_attempt, created, updated)
            VALUES (\(bind: Identifier.generate()), \(bind: hook), '', \(bind: run.uuid), \(bind: payload), 'pending', 0,
                \(bind: .timestamp(now)), \(bind: .timestamp(now)), \(bind: .timestamp(now)))
            """)
        return true
    }
}
