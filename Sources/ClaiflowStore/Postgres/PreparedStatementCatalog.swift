import Logging
import PostgresNIO
import Synchronization

/// Names the statement texts that PostgreSQL prepares once per connection and then runs by name
/// (Bind and Execute only: no parsing or planning of the text again). Used for the statements
/// whose rows are wanted (`SELECT`, `… RETURNING`) and for `INSERT`, `UPDATE` and `DELETE` run
/// for their changed-row count, with `RETURNING 1` appended (see ``canCountByRows(_:)``).
///
/// PostgresNIO caches named prepared statements per connection, but only through
/// `PostgresPreparedStatement`, whose name and text are static properties of a type. The store
/// builds its SQL at run time, so ``DynamicStatement`` reads them from a task-local bound around
/// each call. A connection keeps what it prepared for its lifetime; to bound that, only the first
/// `limit` distinct texts get names, the rest (lists with rare filter combinations) run unnamed as
/// before. A name whose preparation failed, or whose plan PostgreSQL refuses after a schema
/// change, is retired: PostgresNIO would keep answering its error on that connection, so the text
/// gets a new name the next time.
final class PreparedStatementCatalog: Sendable {
    struct Key: Hashable, Sendable {
        let text: String
        let types: [PostgresDataType]
    }

    private struct State {
        var names: [Key: String] = [:]
        var issued = 0
    }

    private let state = Mutex(State())
    /// How many names are ever issued (retired ones included).
    let limit: Int

    init(limit: Int = 256) { self.limit = limit }

    /// The name to run a text under, or nil when it should run unnamed.
    func name(for key: Key) -> String? {
        state.withLock { s in
            if let name = s.names[key] { return name }
            guard s.issued < limit else { return nil }
            s.issued += 1
            let name = "claiflow_\(s.issued)"
            s.names[key] = name
            return name
        }
    }

    /// Whether a statement is an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`, whose
    /// changed-row count is the number of rows it returns once `RETURNING 1` is appended.
    static func canCountByRows(_ text: String) -> Bool {
        let head = text.utf8.drop(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }).prefix(7)
        guard head.elementsEqual("INSERT ".utf8) || head.elementsEqual("UPDATE ".utf8) || head.elementsEqual("DELETE ".utf8)
        else { return false }
        return !text.contains("RETURNING") && !text.contains("returning") && !text.contains(";")
    }

    /// Forgets a name, so that the text is prepared under a new one next time.
    func retire(_ key: Key) { _ = state.withLock { $0.names.removeValue(forKey: key) } }

    /// Whether an error means the prepared statement, not the call, is broken: syntax or access
    /// (42), a statement prepared inside a failed transaction (25), a plan that no longer fits the
    /// table (0A000), an unknown statement name (26), an internal error (XX), or no answer at all.
    static func retires(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return true }
        return ["42", "25", "0A", "26", "XX"].contains(String(state.prefix(2)))
    }
}

/// The name, text and parameter types of the statement being run (bound per call).
struct DynamicStatementText: Sendable {
    let name: String
    let sql: String
    let types: [PostgresDataType]

    @TaskLocal static var current = DynamicStatementText(name: "", sql: "", types: [])
}

/// A statement run by name through PostgresNIO's per-connection cache, for its rows. (PostgresNIO
/// 1.33 hands a prepared statement's command tag back only through an overload that stops the
/// process when the statement returned no rows, hence `RETURNING 1` for changed-row counts.)
struct DynamicStatement: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { DynamicStatementText.current.name }
    static var sql: String { DynamicStatementText.current.sql }
    static var bindingDataTypes: [PostgresDataType] { DynamicStatementText.current.types }
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}
