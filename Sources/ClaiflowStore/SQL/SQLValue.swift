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

/// One row of a result, by column name.
public struct SQLRow: Sendable {
    /// The values by (lowercase) column name.
    public var values: [String: SQLValue]

    public init(values: [String: SQLValue]) { self.values = values }

    /// A text column; throws when it is missing or NULL.
    public func text(_ column: String) throws -> String {
        switch values[column] {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        default: throw StoreError.corrupt("column \(column) is NULL or missing")
        }
    }

    /// A nullable text column.
    public func optionalText(_ column: String) -> String? {
        if case .text(let s) = values[column] { return s }
        return nil
    }

    /// An integer column; throws when it is missing or not an integer.
    public func integer(_ column: String) throws -> Int64 {
        switch values[column] {
        case .integer(let i): return i
        case .real(let d): return Int64(d)
        case .text(let s): if let i = Int64(s) { return i }
        default: break
        }
        throw StoreError.corrupt("column \(column) is not an integer")
    }

    /// A nullable integer column.
    public func optionalInteger(_ column: String) -> Int64? {
        if case .integer(let i) = values[column] { return i }
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
    /// The configuration of the store is invalid.
    case configuration(String)

    public var description: String {
        switch self {
        case .corrupt(let s): "corrupt row: \(s)"
        case .uniqueViolation(let s): "unique constraint violated: \(s)"
        case .database(let s): "database error: \(s)"
        case .configuration(let s): "store configuration: \(s)"
        }
    }
}
