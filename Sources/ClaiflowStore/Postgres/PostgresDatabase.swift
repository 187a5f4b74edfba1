import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// PostgreSQL through a bounded PostgresNIO connection pool.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    let counter = StatementCounter()
    let catalog: PreparedStatementCatalog?
    public var statementsExecuted: Int { counter.value }
    private let retried = Atomic<Int>(0)
    /// Transactions run again after PostgreSQL aborted them for a deadlock or a serialization
    /// failure (``transaction(_:)``), since the start.
    public var transactionsRetried: Int { retried.load(ordering: .relaxed) }

    /// The pool size when the URL names none. With `fsync` on, a commit waits for the WAL flush,
    /// and PostgreSQL flushes the commits that are waiting together: the throughput of writes is
    /// about (transactions committing at once) / (flush time), so the pool must let every request
    /// in flight commit at the same moment. Measured on 2 cores (docs/benchmarks.md): 8
    /// connections lost a quarter of the create throughput against 20; CPU per request did not
    /// depend on the pool size.
    public static let defaultMaximumConnections = 20

    /// Connects to `postgres://user:password@host:port/database[?sslmode=…&pool_max_conns=N&pool_min_conns=N&prepared_statements=on|off]`.
    /// `sslmode` defaults to `disable`; use `require` (encrypted) or `verify-full` (encrypted and the
    /// server certificate checked) for a database that is not on loopback. `pool_max_conns` bounds the
    /// connection pool (default ``defaultMaximumConnections``, or `maximumConnections` when given);
    /// `pool_min_conns` connections (default: 2, at most the maximum) are opened at start and kept
    /// open, so the first requests do not pay for a connection. `prepared_statements=off` runs
    /// every statement unnamed (parsed and planned each time), for a pooler in transaction mode
    /// that cannot keep a connection's prepared statements.
    public init(url: String, maximumConnections: Int? = nil, logger: Logger) throws {
        let (config, prepared) = try Self.configuration(url: url, maximumConnections: maximumConnections)
        self.catalog = prepared ? PreparedStatementCatalog() : nil
        self.logger = logger
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        // Started immediately: `run()` marks the client running before its first suspension, so
        // the client runs before anyone leases a connection (otherwise PostgresNIO warns that
        // "`PostgresClient.run()` hasn't been called yet" at every start).
        if #available(macOS 26, *) {
            self.runTask = Task.immediate { await client.run() }
        } else {
            self.runTask = Task { await client.run() }
        }
    }

    static func configuration(
        url: String, maximumConnections: Int?
    ) throws -> (PostgresClient.Configuration, preparedStatements: Bool) {
        guard let c = URLComponents(string: url), let scheme = c.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.configuration("expected postgres://user:password@host:port/database")
        }
        guard let user = c.user, !user.isEmpty else { throw StoreError.configuration("the PostgreSQL URL names no user") }
        let database = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        var tls = PostgresClient.Configuration.TLS.disable
        var maximum = maximumConnections ?? defaultMaximumConnections
        var minimum: Int?
        var prepared = true
        func count(_ item: URLQueryItem) throws -> Int {
            guard let n = Int(item.value ?? ""), n >= 0, n <= 1000 else {
                throw StoreError.configuration("\(item.name) must be a number from 0 to 1000")
            }
            return n
        }
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "require":
                    var t = TLSConfiguration.makeClientConfiguration()
                    t.certificateVerification = .none
                    tls = .require(t)
                case "verify-full": tls = .require(.makeClientConfiguration())
                default: throw StoreError.configuration("sslmode must be disable, require or verify-full")
                }
            case "pool_max_conns":
                maximum = try count(item)
                guard maximum > 0 else { throw StoreError.configuration("pool_max_conns must be at least 1") }
            case "pool_min_conns": minimum = try count(item)
            case "prepared_statements":
                switch item.value ?? "" {
                case "on": prepared = true
                case "off": prepared = false
                default: throw StoreError.configuration("prepared_statements must be on or off")
                }
            default: continue
            }
        }
        var config = PostgresClient.Configuration(
            host: c.host ?? "localhost", port: c.port ?? 5432, username: user,
            password: c.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = maximum
        config.options.minimumConnections = min(minimum ?? 2, maximum)
        return (config, prepared)
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { conn in
                try await body(PostgresExecutor(connection: conn, logger: logger, counter: counter, catalog: catalog))
            }
        } catch let e as PSQLError { throw Self.map(e) }
    }

    /// How often a transaction that PostgreSQL aborted to resolve a deadlock or a serialization
    /// failure is run again before its error is returned.
    static let conflictRetries = 3

    /// Runs `body` in a transaction. When PostgreSQL aborts it to break a deadlock (`40P01`: two
    /// transactions locking the same rows in different orders, e.g. a run's cancel and a report
    /// that releases its next wave) or for a serialization failure (`40001`), nothing of it was
    /// kept, and it runs again from the start, up to ``conflictRetries`` times, after a short
    /// random pause. A write's body only computes from its inputs and what it reads, so running
    /// it again is safe.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await transactionOnce(body)
            } catch StoreError.transactionConflict(let message) where attempt < Self.conflictRetries {
                attempt += 1
                retried.add(1, ordering: .relaxed)
                logger.info(
                    "transaction aborted by PostgreSQL, running it again",
                    metadata: ["attempt": "\(attempt)", "error": .string(message)])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...10) * attempt))
            }
        }
    }

    private func transactionOnce<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { conn in
                // BEGIN is sent now and not awaited: the body's first statement queues behind it
                // on the connection, and PostgresNIO writes it as soon as BEGIN's answer arrives,
                // on the connection's event loop, so the task does not wake up in between.
                counter.increment()
                let begin = PendingResult(conn.query("BEGIN", logger: logger))
                let exec = PostgresExecutor(
                    connection: conn, logger: logger, counter: counter, catalog: catalog, pendingBegin: begin)
                do {
                    let result = try await body(exec)
                    try await begin.wait()
                    try await exec.execute("COMMIT")
                    return result
                } catch {
                    try? await begin.wait()
                    _ = try? await exec.execute("ROLLBACK")
                    throw error
                }
            }
        } catch let e as PSQLError { throw Self.map(e) }
    }

    /// Runs one statement as a transaction of its own, in one round trip: PostgreSQL commits a
    /// statement sent outside `BEGIN` by itself (durably, like `COMMIT`), or leaves nothing when
    /// it fails. Returns the number of rows changed.
    @discardableResult
    public func autocommit(_ sql: SQL) async throws -> Int {
        do {
            return try await client.withConnection { conn in
                try await PostgresExecutor(connection: conn, logger: logger, counter: counter, catalog: catalog).execute(sql)
            }
        } catch let e as PSQLError { throw Self.map(e) }
    }

    /// Runs one statement as a transaction of its own, in one round trip (like
    /// ``autocommit(_:)``), and returns its rows: for a statement whose data-modifying `WITH`
    /// parts write several tables at once.
    public func autocommitQuery(_ sql: SQL) async throws -> [SQLRow] {
        do {
            return try await client.withConnection { conn in
                try await PostgresExecutor(connection: conn, logger: logger, counter: counter, catalog: catalog).query(sql)
            }
        } catch let e as PSQLError { throw Self.map(e) }
    }

    /// Sends `payloads` on `channel` in order, as one statement committing by itself. The commit
    /// does not wait for the WAL flush (`synchronous_commit` off for this transaction only): it
    /// writes no data, and PostgreSQL holds its notification lock, which serializes every
    /// notifying commit of the database, until the commit is done.
    /// A failure of the connection or the pool (no answer from PostgreSQL about the statement)
    /// throws ``EventPublisher/Unavailable``: sending again may succeed.
    func notify(channel: String, _ payloads: [String]) async throws {
        guard !payloads.isEmpty else { return }
        let list = String(decoding: try JSONEncoder().encode(payloads), as: UTF8.self)
        var binds = PostgresBindings(capacity: 2)
        binds.append(channel)
        binds.append(list)
        // Run here rather than through `PostgresExecutor`, which maps every error to a
        // `StoreError`: the publisher must tell a failed connection from a refused statement.
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT pg_notify($1, p), s.c
                FROM (SELECT set_config('synchronous_commit', 'off', true) AS c) AS s,
                    json_array_elements_text($2::json) AS p
                """, binds: binds)
        do {
            try await client.withConnection { conn in
                counter.increment()
                for try await _ in try await conn.query(query, logger: logger) {}
            }
        } catch let e as PSQLError where e.serverInfo != nil {
            throw Self.map(e)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw EventPublisher.Unavailable(description: String(reflecting: error))
        }
    }

    /// Listens on a channel on one pooled connection until cancelled or the connection fails.
    func listen(
        channel: String, onConnect: @escaping @Sendable () async -> Void, _ handler: @escaping @Sendable (String) async -> Void
    ) async throws {
        try await client.withConnection { conn in
            try await conn.listen(on: channel) { notifications in
                await onConnect()
                for try await n in notifications { await handler(n.payload) }
            }
        }
    }

    public func close() async {
        runTask.cancel()
        _ = await runTask.value
    }

    static func map(_ e: PSQLError) -> StoreError {
        if let info = e.serverInfo {
            if info[.sqlState] == "23505" {
                return .uniqueViolation((info[.constraintName] ?? "") + " " + (info[.detail] ?? info[.message] ?? ""))
            }
            if let state = info[.sqlState], state == "40P01" || state == "40001" {
                return .transactionConflict("\(state) \(info[.message] ?? "")")
            }
            return .database("\(info[.sqlState] ?? "") \(info[.message] ?? "")")
        }
        return .database(String(reflecting: e))
    }
}

struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    let counter: StatementCounter
    /// Names the texts run as prepared statements (nil: every statement runs unnamed).
    let catalog: PreparedStatementCatalog?
    /// The transaction's `BEGIN`, sent but not yet awaited (nil outside a transaction).
    var pendingBegin: PendingResult? = nil
    var dialect: SQLDialect { .postgres }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let result = try await run(sql, prepared: true)
        var columns: SQLColumns?
        return try result.rows.map { row in
            let names = columns ?? SQLColumns(row.map(\.columnName))
            columns = names
            return SQLRow(columns: names, values: try row.map(Self.value))
        }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        try await run(sql, prepared: false).count
    }

    /// Runs a statement: by name when the catalog names its text (prepared on this connection the
    /// first time), unnamed otherwise. A statement run for its rows (`prepared`) is named as it is;
    /// an `INSERT`, `UPDATE` or `DELETE` run for its changed-row count is named with `RETURNING 1`
    /// appended, so that it returns one row per changed row. Returns the rows (without those
    /// added ones) and the number of rows returned or changed.
    private func run(_ sql: SQL, prepared: Bool) async throws -> (rows: [PostgresRow], count: Int) {
        let rendered = sql.render(.postgres)
        var text = rendered.text
        let binds = rendered.binds
        let counting = !prepared && catalog != nil && PreparedStatementCatalog.canCountByRows(text)
        if counting { text += " RETURNING 1" }
        counter.increment()
        var bindings = PostgresBindings(capacity: binds.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(binds.count)
        for b in binds {
            switch b {
            case .null:
                bindings.appendNull()
                types.append(.null)
            case .integer(let i):
                bindings.append(i)
                types.append(.int8)
            case .real(let d):
                bindings.append(d)
                types.append(.float8)
            case .text(let s):
                bindings.append(s)
                types.append(.text)
            }
        }
        let key = PreparedStatementCatalog.Key(text: text, types: types)
        do {
            if prepared || counting, let catalog, let name = catalog.name(for: key) {
                do {
                    let result = try await runPrepared(name, text: text, types: types, bindings: bindings)
                    return counting ? ([], result.count) : result
                } catch let e as PSQLError {
                    if PreparedStatementCatalog.retires(e) { catalog.retire(key) }
                    throw e
                }
            }
            if counting { text.removeLast(" RETURNING 1".count) }  // the catalog is full
            let future: EventLoopFuture<PostgresQueryResult> = connection.query(
                PostgresQuery(unsafeSQL: text, binds: bindings), logger: logger)
            // The statement is queued behind BEGIN; BEGIN's failure fails the transaction.
            try await pendingBegin?.wait()
            let result = try await future.get()
            return (result.rows, result.metadata.rows ?? 0)
        } catch let e as PSQLError {
            throw PostgresDatabase.map(e)
        }
    }

    private func runPrepared(
        _ name: String, text: String, types: [PostgresDataType], bindings: PostgresBindings
    ) async throws -> (rows: [PostgresRow], count: Int) {
        // The statement is written to the connection (behind BEGIN) before anything is awaited.
        try await DynamicStatementText.$current.withValue(DynamicStatementText(name: name, sql: text, types: types)) {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(DynamicStatement(bindings: bindings), logger: logger) {
                rows.append(row)
            }
            try await pendingBegin?.wait()
            return (rows, rows.count)
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8, .int4, .int2: return .integer(try cell.decode(Int64.self))
        case .float8, .float4: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .numeric: return .real(Double(try cell.decode(String.self)) ?? 0)
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// A statement's result that was sent without waiting for it: the first `wait()` awaits it and
/// rethrows its error, later calls return at once.
final class PendingResult: Sendable {
    private let future: Mutex<EventLoopFuture<PostgresQueryResult>?>

    init(_ future: EventLoopFuture<PostgresQueryResult>) { self.future = Mutex(future) }

    func wait() async throws {
        guard
            let f = future.withLock({ f in
                defer { f = nil }
                return f
            })
        else { return }
        _ = try await f.get()
    }
}
