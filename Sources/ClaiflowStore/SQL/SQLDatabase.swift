import Synchronization

/// Runs statements inside one read or one transaction.
public protocol SQLExecutor: Sendable {
    /// The dialect of the database behind this executor.
    var dialect: SQLDialect { get }
    /// Runs a statement and returns its rows.
    func query(_ sql: SQL) async throws -> [SQLRow]
    /// Runs a statement and returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: SQL) async throws -> Int
}

/// A database connection pool that the store runs its use cases on: SQLite through GRDB or
/// PostgreSQL through PostgresNIO. Everything above this protocol is shared by both.
public protocol SQLDatabase: Sendable {
    /// The dialect spoken.
    var dialect: SQLDialect { get }
    /// Runs read-only statements.
    func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Runs statements in one transaction: committed when the body returns, rolled back when it throws.
    ///
    /// A body runs statements only: it must not await work that may itself wait for another
    /// transaction (nor start a nested one). On SQLite concurrent transactions share a commit,
    /// so a body that waits on another caller's transaction would wait for itself.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Runs one write statement as a transaction of its own and returns the rows it changed;
    /// committed (durably) when it returns. A database may do this more cheaply than
    /// `transaction` (PostgreSQL: one round trip without `BEGIN`/`COMMIT`).
    @discardableResult
    func autocommit(_ sql: SQL) async throws -> Int
    /// Closes the pool.
    func close() async
    /// How many statements ran so far (for the benchmark's idle-load figure and diagnostics).
    var statementsExecuted: Int { get }
}

/// Counts executed statements.
final class StatementCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

extension SQLExecutor {
    /// Runs a statement and returns its first row, if any.
    public func first(_ sql: SQL) async throws -> SQLRow? { try await query(sql).first }
}
