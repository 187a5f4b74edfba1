import Foundation
import GRDB

/// SQLite through GRDB: one writer connection, concurrent readers, WAL journal.
///
/// Durability: `synchronous = FULL`, so a transaction that has been acknowledged survives a power
/// loss, not just a process crash. The cost is one fsync per commit; see docs/benchmarks.md.
///
/// A use case's transaction may await between statements, which GRDB's synchronous write
/// closures do not allow. So transactions are serialised here by an async lock and run as
/// `BEGIN IMMEDIATE` … `COMMIT` over several writer accesses (GRDB's `allowsUnsafeTransactions`).
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    let pool: DatabasePool
    private let writeLock = AsyncLock()
    let counter = StatementCounter()
    public var statementsExecuted: Int { counter.value }

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 8
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError.configuration("cannot open SQLite database at \(path): \(error)")
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await body(SQLiteReader(pool: pool, counter: counter))
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            let writer = SQLiteWriter(pool: pool, counter: counter)
            try await Self.mapErrors { try await pool.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") } }
            do {
                let result = try await body(writer)
                try await Self.mapErrors { try await pool.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") } }
                return result
            } catch {
                // Roll back outside of any cancellation so the writer is never left inside a transaction.
                let pool = self.pool
                _ = try? await Task.detached {
                    try await pool.writeWithoutTransaction { db in
                        if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
                    }
                }.value
                throw error
            }
        }
    }

    public func close() async {
        try? pool.close()
    }

    static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_CONSTRAINT,
                error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            {
                throw StoreError.uniqueViolation(error.message ?? "\(error)")
            }
            throw StoreError.database(error.message ?? "\(error)")
        }
    }

    static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(
            binds.map { v -> (any DatabaseValueConvertible)? in
                switch v {
                case .null: nil
                case .integer(let i): i
                case .real(let d): d
                case .text(let s): s
                }
            })
    }

    static func rows(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        // A cursor reads each row in place (no copied GRDB Row per row); the column names are
        // lowercased once per result and shared by its rows.
        let cursor = try Row.fetchCursor(db, sql: text, arguments: arguments(binds))
        var columns: SQLColumns?
        var rows: [SQLRow] = []
        while let row = try cursor.next() {
            let names = columns ?? SQLColumns(Array(row.columnNames))
            columns = names
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for dbValue in row.databaseValues {
                switch dbValue.storage {
                case .null: values.append(.null)
                case .int64(let i): values.append(.integer(i))
                case .double(let d): values.append(.real(d))
                case .string(let s): values.append(.text(s))
                case .blob(let data): values.append(.text(String(decoding: data, as: UTF8.self)))
                }
            }
            rows.append(SQLRow(columns: names, values: values))
        }
        return rows
    }
}

struct SQLiteReader: SQLExecutor {
    let pool: DatabasePool
    let counter: StatementCounter
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        return try await SQLiteDatabase.mapErrors { try await pool.read { db in try SQLiteDatabase.rows(db, text, binds) } }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        throw StoreError.database("write statement in a read-only access")
    }
}

struct SQLiteWriter: SQLExecutor {
    let pool: DatabasePool
    let counter: StatementCounter
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        return try await SQLiteDatabase.mapErrors {
            try await pool.writeWithoutTransaction { db in try SQLiteDatabase.rows(db, text, binds) }
        }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        return try await SQLiteDatabase.mapErrors {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: text, arguments: SQLiteDatabase.arguments(binds))
                return db.changesCount
            }
        }
    }
}
