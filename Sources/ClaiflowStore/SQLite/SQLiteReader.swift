import GRDB

/// Runs read statements for `SQLiteDatabase.read`: each on a reader connection of the pool.
struct SQLiteReader: SQLExecutor {
    let pool: DatabasePool
    let counter: StatementCounter
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        do {
            // One statement needs no explicit transaction: SQLite runs it on one snapshot.
            return try await pool.unsafeRead { db in try SQLiteDatabase.rows(db, text, binds) }
        } catch {
            throw SQLiteDatabase.storeError(error)
        }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        throw StoreError.database("write statement in a read-only access")
    }
}
