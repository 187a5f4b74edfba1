import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// PostgreSQL through a bounded PostgresNIO connection pool.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    let counter = StatementCounter()
    public var statementsExecuted: Int { counter.value }

    /// Connects to `postgres://user:password@host:port/database[?sslmode=disable|require|verify-full]`.
    /// `sslmode` defaults to `disable`; use `require` (encrypted) or `verify-full` (encrypted and the
    /// server certificate checked) for a database that is not on loopback.
    public init(url: String, maximumConnections: Int = 20, logger: Logger) throws {
        let config = try Self.configuration(url: url, maximumConnections: maximumConnections)
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

    static func configuration(url: String, maximumConnections: Int) throws -> PostgresClient.Configuration {
        guard let c = URLComponents(string: url), let scheme = c.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.configuration("expected postgres://user:password@host:port/database")
        }
        guard let user = c.user, !user.isEmpty else { throw StoreError.configuration("the PostgreSQL URL names no user") }
        let database = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        var tls = PostgresClient.Configuration.TLS.disable
        for item in c.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable": tls = .disable
            case "require":
                var t = TLSConfiguration.makeClientConfiguration()
                t.certificateVerification = .none
                tls = .require(t)
            case "verify-full": tls = .require(.makeClientConfiguration())
            default: throw StoreError.configuration("sslmode must be disable, require or verify-full")
            }
        }
        var config = PostgresClient.Configuration(
            host: c.host ?? "localhost", port: c.port ?? 5432, username: user,
            password: c.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = maximumConnections
        config.options.minimumConnections = 0
        return config
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { conn in
                try await body(PostgresExecutor(connection: conn, logger: logger, counter: counter))
            }
        } catch let e as PSQLError { throw Self.map(e) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { conn in
                let exec = PostgresExecutor(connection: conn, logger: logger, counter: counter)
                try await exec.execute("BEGIN")
                do {
                    let result = try await body(exec)
                    try await exec.execute("COMMIT")
                    return result
                } catch {
                    _ = try? await exec.execute("ROLLBACK")
                    throw error
                }
            }
        } catch let e as PSQLError { throw Self.map(e) }
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
            return .database("\(info[.sqlState] ?? "") \(info[.message] ?? "")")
        }
        return .database(String(reflecting: e))
    }
}

struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    let counter: StatementCounter
    var dialect: SQLDialect { .postgres }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let result = try await run(sql)
        var columns: SQLColumns?
        return try result.rows.map { row in
            let names = columns ?? SQLColumns(row.map(\.columnName))
            columns = names
            return SQLRow(columns: names, values: try row.map(Self.value))
        }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        try await run(sql).metadata.rows ?? 0
    }

    private func run(_ sql: SQL) async throws -> PostgresQueryResult {
        let (text, binds) = sql.render(.postgres)
        counter.increment()
        var bindings = PostgresBindings(capacity: binds.count)
        for b in binds {
            switch b {
            case .null: bindings.appendNull()
            case .integer(let i): bindings.append(i)
            case .real(let d): bindings.append(d)
            case .text(let s): bindings.append(s)
            }
        }
        do {
            let future: EventLoopFuture<PostgresQueryResult> = connection.query(
                PostgresQuery(unsafeSQL: text, binds: bindings), logger: logger)
            return try await future.get()
        } catch let e as PSQLError {
            throw PostgresDatabase.map(e)
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
