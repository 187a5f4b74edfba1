import Foundation
import GRDB

/// SQLite through GRDB: one writer connection, concurrent readers, WAL journal.
///
/// Durability: `synchronous = FULL`, so a transaction that has been acknowledged survives a power
/// loss, not just a process crash: `transaction` returns only after the `COMMIT` that holds its
/// statements has been fsynced.
///
/// Writes (see `SQLiteWriteExecutor`): a transaction's body runs on the writer connection's own
/// thread (one thread hop in, one out, however many statements it runs), and concurrent
/// transactions share a commit (group commit): each body runs in its own `SAVEPOINT` of one
/// `BEGIN IMMEDIATE` transaction, a body that throws is rolled back alone, and the batch commits
/// — one fsync for all of them — as soon as no further transaction is waiting, or after 64.
/// Statements are prepared once per connection (GRDB's statement cache).
///
/// Reads run each statement on a reader connection of the pool, outside of a transaction (a
/// single `SELECT` sees one committed state, as it would in autocommit mode).
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    let pool: DatabasePool
    private let writer: SQLiteWriteExecutor
    let counter = StatementCounter()
    public var statementsExecuted: Int { counter.value }
    /// Write transactions committed so far: each is one fsync and holds one or more
    /// `transaction` calls (group commit).
    public var commitsExecuted: Int { writer.commits.load(ordering: .relaxed) }
    /// `transaction` calls waiting for the one whose body holds the writer (they join its commit
    /// unless the batch is full).
    public var transactionsWaiting: Int { writer.waiting.load(ordering: .relaxed) }

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String) throws {
        var config = Configuration()
        // The write executor keeps a transaction open across the jobs of its batch; it never
        // leaves GRDB's writer access with one open.
        config.allowsUnsafeTransactions = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 8
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The writer's SAVEPOINT per transaction (group commit) has SQLite keep a
            // sub-journal of every page a transaction changes; past 64 KiB per batch it spilled
            // to a temporary file, one pwrite per page (three times the WAL's writes on service
            // creates). In memory on the writer: it only serves a savepoint's rollback, never
            // recovery, and a batch holds at most 64 transactions. Readers keep the default.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA temp_store = MEMORY") }
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError.configuration("cannot open SQLite database at \(path): \(error)")
        }
        writer = try SQLiteWriteExecutor(pool: pool)
    }

    deinit {
        writer.shutDown()
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await body(SQLiteReader(pool: pool, counter: counter))
    }

    /// Runs `body` in its own savepoint of the writer's shared transaction and returns after the
    /// commit that holds it (see the type's documentation). Cancellation is up to the body (a
    /// throw rolls back its savepoint): a task that is already cancelled still runs its write, as
    /// the last flushes of cancelled background loops rely on.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let writer = self.writer
        let counter = self.counter
        return try await withTaskExecutorPreference(writer) {
            try await writer.perform(body, counter: counter)
        }
    }

    /// One statement in a transaction of its own (it still shares the group commit).
    @discardableResult
    public func autocommit(_ sql: SQL) async throws -> Int {
        try await transaction { db in try await db.execute(sql) }
    }

    public func close() async {
        writer.shutDown()
        try? pool.close()
    }

    /// A database error as a `StoreError` (unique violations recognised); other errors unchanged.
    static func storeError(_ error: any Error) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        if error.resultCode == .SQLITE_CONSTRAINT,
            error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError.uniqueViolation(error.message ?? "\(error)")
        }
        return StoreError.database(error.message ?? "\(error)")
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

    /// Runs a query through the connection's statement cache and returns its rows. A cursor reads
    /// each row in place (no copied GRDB Row per row); the column names are lowercased once per
    /// statement and shared by its rows.
    static func rows(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: text)
        let columns = SQLColumns(statement.columnNames)
        let cursor = try Row.fetchCursor(statement, arguments: arguments(binds))
        var rows: [SQLRow] = []
        while let row = try cursor.next() {
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
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }

    /// Runs a statement through the connection's statement cache; returns the rows it changed.
    static func execute(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: text).execute(arguments: arguments(binds))
        return db.changesCount
    }
}
