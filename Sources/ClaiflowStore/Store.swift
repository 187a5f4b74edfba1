import ClaiflowCore
import ClaiflowQuery
import Logging
import Metrics
import Synchronization

/// The persistence of claiflow: one function per use case, each one short transaction or read.
///
/// The use-case logic and the SQL are shared; the database behind it is either SQLite (GRDB,
/// WAL — the embedded single-machine store) or PostgreSQL (PostgresNIO — for several replicas).
/// Both pass the same contract test suite.
public final class Store: Sendable {
    /// The database connection pool.
    public let database: any SQLDatabase
    private let metrics: (any MetricsFactory)?
    private let cipher = Mutex<SecretBox?>(nil)
    /// SQLite's choice between a prefix's index range and a walk in a page's order.
    let prefixPlanner = PrefixRangePlanner()

    private let releaseHandler = Mutex<StoreCallback<(released: [String], deliveries: Bool)>?>(nil)
    /// Receives the status events of this process's commits on SQLite (see ``onStatusEvents(_:)``).
    let statusHandler = Mutex<StoreCallback<[StatusEvent]>?>(nil)
    /// Sends the events of this process's commits to every replica (PostgreSQL only).
    let publisher: EventPublisher?

    /// Tells `handler`, after each commit in which services' ends moved runs on, the clusters
    /// whose held run services were released (their agents' polls should wake; on PostgreSQL the
    /// other replicas hear of it by `NOTIFY`) and whether a run ended with a webhook delivery
    /// enqueued (the deliverer should wake).
    public func onRunProgress(_ handler: @escaping @Sendable (_ released: [String], _ deliveries: Bool) -> Void) {
        let callback = StoreCallback<(released: [String], deliveries: Bool)> { handler($0.released, $0.deliveries) }
        releaseHandler.withLock { $0 = callback }
    }

    /// Calls the ``onRunProgress(_:)`` handler when clusters were released or a run delivery enqueued.
    func announceReleases(_ advance: RunAdvance) {
        guard !advance.released.isEmpty || advance.deliveries, let handler = releaseHandler.withLock({ $0 }) else { return }
        handler.call((advance.released, advance.deliveries))
    }

    /// Encrypts service inputs at rest from now on (rows written before stay readable).
    public func useCipher(_ box: SecretBox) { cipher.withLock { $0 = box } }

    /// The cipher for service inputs, if one is set.
    var inputsCipher: SecretBox? { cipher.withLock { $0 } }

    /// Wraps a database. `metrics` records a timer per store operation when given.
    public init(database: any SQLDatabase, metrics: (any MetricsFactory)? = nil) {
        self.database = database
        self.metrics = metrics
        self.publisher = (database as? PostgresDatabase).map { pg in
            EventPublisher(logger: Logger(label: "claiflow.events"), metrics: metrics) {
                try await pg.notify(channel: Store.eventChannel, $0)
            }
        }
    }

    /// Opens the store named by a database URL: `sqlite:PATH` or `postgres://user:pass@host:port/db`.
    public static func open(url: String, logger: Logger, metrics: (any MetricsFactory)? = nil) throws -> Store {
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw StoreError.configuration("sqlite: needs a file path, e.g. sqlite:claiflow.sqlite") }
            return Store(database: try SQLiteDatabase(path: path), metrics: metrics)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return Store(database: try PostgresDatabase(url: url, logger: logger), metrics: metrics)
        }
        throw StoreError.configuration("the database must be sqlite:PATH or postgres://user:password@host:port/database")
    }

    /// The SQL dialect of the database.
    public var dialect: SQLDialect { database.dialect }

    /// Applies pending schema migrations; returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [Int64] {
        try await Migrations.run(on: database)
    }

    /// How long ``close()`` waits for the events of the commits so far to be published.
    static let closeFlushTimeout: Duration = .seconds(3)

    /// Closes the database, once the events of the commits so far were published or after
    /// ``closeFlushTimeout`` (the events not published by then are dropped and logged).
    public func close() async {
        await publisher?.close(waiting: Self.closeFlushTimeout)
        await database.close()
    }

    // MARK: - Plumbing

    func read<T: Sendable>(_ op: String, _ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await timed(op) { try await database.read(body) }
    }

    /// Runs `body` in a transaction. The events its statements cause (``notifyStatus(_:_:)``,
    /// ``notify(_:_:)``) are handed on once it committed, and dropped when it rolls back: on
    /// PostgreSQL to the ``EventPublisher`` (no `NOTIFY` in the transaction, whose commit would
    /// then wait for every other notifying commit), on SQLite the status events to the
    /// ``onStatusEvents(_:)`` handler.
    @discardableResult
    func write<T: Sendable>(_ op: String, _ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let handler = dialect == .sqlite ? statusHandler.withLock({ $0 }) : nil
        guard publisher != nil || handler != nil else {
            return try await timed(op) { try await database.transaction(body) }
        }
        // Collected per attempt: a transaction run again (a PostgreSQL conflict) starts afresh.
        let (value, events) = try await timed(op) {
            try await database.transaction { db in
                let collector = EventCollector()
                let value = try await body(EventCollectingExecutor(base: db, collector: collector))
                return (value, collector.take())
            }
        }
        announce(events)
        return value
    }

    /// Hands on the events of a commit: on PostgreSQL to the ``EventPublisher``, on SQLite the
    /// status events to the ``onStatusEvents(_:)`` handler (there is no other replica to wake).
    func announce(_ events: [DispatchEvent]) {
        guard !events.isEmpty else { return }
        if let publisher { return publisher.enqueue(events) }
        guard dialect == .sqlite, let handler = statusHandler.withLock({ $0 }) else { return }
        let status = events.flatMap { e -> [StatusEvent] in
            if case .status(let list) = e { return list }
            return []
        }
        if !status.isEmpty { handler.call(status) }
    }

    /// Runs one statement as a transaction of its own and returns the number of rows it changed.
    /// On PostgreSQL the statement commits by itself (one round trip instead of `BEGIN`, the
    /// statement and `COMMIT`); on SQLite it is a transaction of one statement.
    @discardableResult
    func write(_ op: String, statement: SQL) async throws -> Int {
        try await timed(op) { try await database.autocommit(statement) }
    }

    func timed<T>(_ op: String, _ body: () async throws -> T) async throws -> T {
        guard let metrics else { return try await body() }
        let start = ContinuousClock.now
        defer {
            Timer(label: "claiflow_store_operation_duration_seconds", dimensions: [("operation", op)], factory: metrics)
                .record(duration: ContinuousClock.now - start)
        }
        return try await body()
    }

    /// Runs a list query on a table and maps the rows. `prefixIndexed` names a column with a
    /// `COLLATE NOCASE` index for prefix `like`s: on SQLite a page filtered by a broad prefix of
    /// it walks the table in the page's order instead (``PrefixRangePlanner``).
    func list<T: Sendable>(
        _ op: String, table: String, query: ListQuery, extra: SQL? = nil, defaultOrder: String = "id",
        newestFirst: Bool = false, aliases: [String: String] = [:], prefixIndexed: String? = nil,
        map: @escaping @Sendable (SQLRow) throws -> T
    ) async throws -> [T] {
        let dialect = self.dialect
        var prefix: (column: String, pattern: String, window: Int)?
        if dialect == .sqlite, let column = prefixIndexed, let page = query.page,
            let pattern = PrefixRangePlanner.prefixPattern(query.condition, column: column)
        {
            prefix = (column, pattern, page.limit + page.offset)
        }
        let render: @Sendable (Set<String>) -> SQL = { unindexed in
            var sql: SQL = "SELECT * FROM \(raw: table)"
            var conditions: [SQL] = []
            if let c = query.condition {
                conditions.append(QueryRenderer.render(c, dialect: dialect, aliases: aliases, unindexed: unindexed))
            }
            if let extra { conditions.append(extra) }
            if !conditions.isEmpty { sql += " WHERE " + SQL.join(conditions, separator: " AND ") }
            if query.order.isEmpty, newestFirst {
                sql += " ORDER BY \(raw: defaultOrder) DESC"
            } else {
                sql += QueryRenderer.orderBy(query.order, fallback: defaultOrder, aliases: aliases)
            }
            if let page = query.page { sql += " LIMIT \(bind: page.limit) OFFSET \(bind: page.offset)" }
            return sql
        }
        let planner = prefixPlanner
        let finalPrefix = prefix
        return try await read(op) { db in
            var unindexed: Set<String> = []
            if let p = finalPrefix,
                try await planner.shouldWalk(table: table, column: p.column, pattern: p.pattern, window: p.window, db: db)
            {
                unindexed.insert(p.column)
            }
            return try await db.query(render(unindexed)).map(map)
        }
    }
}
