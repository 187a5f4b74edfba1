import ClaiflowCore

/// The type of a column that list queries may filter and order on; values given for a column
/// are coerced to this type.
public enum ColumnType: String, Sendable, Hashable, CaseIterable {
    /// A string column; numbers and booleans are accepted and compared as their text.
    case text
    /// A 64-bit signed integer column.
    case integer
    /// A timestamp column; values are RFC 3339 strings, `YYYY-MM-DD[ HH:MM:SS[.frac]]` strings
    /// or numbers of Unix seconds.
    case timestamp
}

/// The whitelist of columns of one table that list queries may use, with their types.
///
/// Column names are matched exactly (case-sensitively); anything not listed is rejected.
public struct TableSchema: Sendable {
    /// The table name, used in error messages.
    public let name: String
    /// The columns in declaration order (the order used when listing allowed columns).
    public let columns: [(String, ColumnType)]

    private let types: [String: ColumnType]

    /// Creates a schema from a table name and its ordered columns. If a column name occurs more
    /// than once, its first declaration wins.
    public init(name: String, columns: [(String, ColumnType)]) {
        self.name = name
        self.columns = columns
        var types: [String: ColumnType] = [:]
        for (column, type) in columns where types[column] == nil {
            types[column] = type
        }
        self.types = types
    }

    /// The type of a column, or nil when the column is not in the whitelist.
    public func type(of column: String) -> ColumnType? {
        types[column]
    }

    /// The column names in declaration order.
    public var columnNames: [String] {
        columns.map(\.0)
    }
}

/// A value of a condition, already coerced to the type of its column.
public enum QueryValue: Sendable, Hashable {
    /// SQL NULL (given as JSON `null`); a comparison with it never matches.
    case null
    /// A value of a text column.
    case text(String)
    /// A value of an integer column.
    case integer(Int64)
    /// A value of a timestamp column.
    case timestamp(Timestamp)
}

/// A binary comparison of a column with a value.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    /// `column = value`.
    case eq
    /// `column > value`.
    case gt
    /// `column < value`.
    case lt
    /// `column >= value`.
    case ge
    /// `column <= value`.
    case le
    /// `column LIKE value` (text columns only; `%` and `_` are wildcards).
    case like
}

/// A parsed, validated filter condition. Every column in it is in the table's whitelist and
/// every value has the column's type (or is `.null`). The store renders it with bound
/// parameters; no SQL text ever comes from the client.
public indirect enum Condition: Sendable, Equatable {
    /// All sub-conditions hold (at least one sub-condition).
    case and([Condition])
    /// At least one sub-condition holds (at least one sub-condition).
    case or([Condition])
    /// The sub-condition does not hold.
    case not(Condition)
    /// `column op value`.
    case compare(column: String, op: ComparisonOperator, value: QueryValue)
    /// `column IS NULL`.
    case isNull(column: String)
    /// `column IN (values…)` (at least one value).
    case inList(column: String, values: [QueryValue])
    /// `column BETWEEN low AND high`.
    case between(column: String, low: QueryValue, high: QueryValue)
}

/// One column of an ORDER BY clause.
public struct OrderTerm: Sendable, Equatable, Hashable {
    /// The column (always in the table's whitelist).
    public let column: String
    /// Whether the column is sorted descending.
    public let descending: Bool

    /// Creates an order term.
    public init(column: String, descending: Bool) {
        self.column = column
        self.descending = descending
    }
}

/// A LIMIT/OFFSET pair.
public struct Page: Sendable, Equatable, Hashable {
    /// The maximum number of rows returned (always positive).
    public let limit: Int
    /// The number of rows skipped.
    public let offset: Int

    /// Creates a page.
    public init(limit: Int, offset: Int) {
        self.limit = limit
        self.offset = offset
    }
}

/// The parsed `q`, `o` and `p` parameters of a list request.
public struct ListQuery: Sendable, Equatable {
    /// The filter, or nil to return all rows.
    public var condition: Condition?
    /// The ordering, empty for the store's default order.
    public var order: [OrderTerm]
    /// The page, or nil for no limit.
    public var page: Page?

    /// Creates a list query.
    public init(condition: Condition? = nil, order: [OrderTerm] = [], page: Page? = nil) {
        self.condition = condition
        self.order = order
        self.page = page
    }
}
