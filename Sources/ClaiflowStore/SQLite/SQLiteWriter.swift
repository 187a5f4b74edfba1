import GRDB

/// Runs the statements of one write transaction's body, synchronously on the writer thread with
/// the writer connection (`SQLiteWriteExecutor`); used anywhere else it throws.
struct SQLiteWriter: SQLExecutor {
    let executor: SQLiteWriteExecutor
    let counter: StatementCounter
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [SQLRow] {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        do {
            return try SQLiteDatabase.rows(try executor.statementDatabase(), text, binds)
        } catch {
            throw SQLiteDatabase.storeError(error)
        }
    }

    @discardableResult
    func execute(_ sql: SQL) async throws -> Int {
        let (text, binds) = sql.render(.sqlite)
        counter.increment()
        do {
            return try SQLiteDatabase.execute(try executor.statementDatabase(), text, binds)
        } catch {
            throw SQLiteDatabase.storeError(error)
        }
    }
}
