import ClaiflowCore

/// A value bound to, or read from, a SQL statement. Both stores use only these column types:
/// `BIGINT` (integers, booleans as 0/1, timestamps as microseconds since the Unix epoch),
/// `DOUBLE PRECISION`/`REAL` and `TEXT`.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// A timestamp, stored as microseconds since the Unix epoch.
    public static func timestamp(_ t: Timestamp) -> SQLValue { .integer(t.microseconds) }
    /// An optional text, `NULL` when nil.
    public static func optional(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }
}

/// The (lowercase) column names of a result and their positions, shared by all its rows.
public final class SQLColumns: Sendable {
    /// The names in result order.
    public let names: [String]
    private let positions: [String: Int]

    /// `names` are lowercased; of a repeated name the last position counts.
    public init(_ names: [String]) {
        let lowered = names.map { $0.lowercased() }
        self.names = lowered
        var positions: [String: Int] = [:]
        positions.reserveCapacity(lowered.count)
        for (i, name) in lowered.enumerated() { positions[name] = i }
        self.positions = positions
    }

    /// The position of a (lowercase) column name.
    public func position(of name: String) -> Int? { positions[name] }
}

/// One row of a result: its values in column order, looked up by (lowercase) column name.
/// The names live once per result in ``SQLColumns``, not once per row.
public struct SQLRow: Sendable {
    /// The result's columns.
    public let columns: SQLColumns
    /// The values, in the order of ``columns``.
    public var cells: [SQLValue]

    /// A row of a result with these columns.
    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.cells = values
    }

    /// The values by (lowercase) column name (built on each call: for tests and diagnostics).
    public var values: [String: SQLValue] {
        var byName: [String: SQLValue] = [:]
        for (name, value) in zip(columns.names, cells) { byName[name] = value }
        return byName
    }

    /// A row from values by column name.
    public init(values: [String: SQLValue]) {
        let names = Array(values.keys)
        self.init(columns: SQLColumns(names), values: names.map { values[$0] ?? .null })
    }

    /// The value of a column, nil when the result has no such column.
    public subscript(_ column: String) -> SQLValue? {
        guard let i = columns.position(of: column), i < cells.count else { return nil }
        return cells[i]
    }

    /// A text column; throws when it is missing or NULL.
    public func text(_ column: String) throws -> String {
        switch self[column] {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        default: throw StoreError.corrupt("column \(column) is NULL or missing")
        }
    }

    /// A nullable text column.
    public func optionalText(_ column: String) -> String? {
        if case .text(let s) = self[column] { return s }
        return nil
    }

    /// An integer column; throws when it is missing or not an integer.
    public func integer(_ column: String) throws -> Int64 {
        switch self[column] {
        case .integer(let i): return i
        case .real(let d): return Int64(d)
        case .text(let s): if let i = Int64(s) { return i }
        default: break
        }
        throw StoreError.corrupt("column \(column) is not an integer")
    }

    /// A nullable integer column.
    public func optionalInteger(_ column: String) -> Int64? {
        if case .integer(let i) = self[column] { return i }
        return nil
    }

    /// A timestamp column (microseconds since the Unix epoch).
    public func timestamp(_ column: String) throws -> Timestamp { Timestamp(microseconds: try integer(column)) }

    /// A nullable timestamp column.
    public func optionalTimestamp(_ column: String) -> Timestamp? { optionalInteger(column).map(Timestamp.init(microseconds:)) }
}

/// Failures of the storage layer that are not the caller's fault.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// A row holds something the code cannot read.
    case corrupt(String)
    /// A unique constraint was violated; the text names the constraint or column.
    case uniqueViolation(String)
    /// The database could not be reached or answered with an error.
    case database(String)
    /// PostgreSQL aborted the transaction to resolve a deadlock (`40P01`) or a serialization
    /// failure (`40001`); running it again may succeed (``PostgresDatabase`` does, a few times).
    case transactionConflict(String)
    /// The configuration of the store is invalid.
    case configuration(String)

    public var description: String {
        switch self {
        case .corrupt(let s): "corrupt row: \(s)"
        case .uniqueViolation(let s): "unique constraint violated: \(s)"
        case .database(let s): "database error: \(s)"
        case .transactionConflict(let s): "transaction aborted by the database: \(s)"
        case .configuration(let s): "store configuration: \(s)"
        }
    }
}
