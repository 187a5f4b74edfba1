import ClaiflowCore

/// The operators of a condition, after case folding and aliasing; shared by both `q` syntaxes.
enum ConditionOperator {
    case and, or, not, isNull, inList, between
    case compare(ComparisonOperator)

    /// The operator names accepted in either syntax, for error messages.
    static let supportedList = "and, or, not, eq, equal, gt, lt, ge, gte, le, lte, like, isnull, in, between"

    /// Looks an operator up by name (case-insensitively, aliases included).
    init?(name: String) {
        switch name.lowercased() {
        case "and": self = .and
        case "or": self = .or
        case "not": self = .not
        case "eq", "equal": self = .compare(.eq)
        case "gt": self = .compare(.gt)
        case "lt": self = .compare(.lt)
        case "ge", "gte": self = .compare(.ge)
        case "le", "lte": self = .compare(.le)
        case "like": self = .compare(.like)
        case "isnull": self = .isNull
        case "in": self = .inList
        case "between": self = .between
        default: return nil
        }
    }
}

/// Builds validated condition leaves: checks columns against the schema and coerces values.
struct ConditionBuilder {
    /// The deepest nesting of conditions accepted (a single comparison has depth 1).
    static let maxDepth = 32
    /// The most values accepted in one `in` list.
    static let maxInValues = 1000

    let schema: TableSchema

    /// The type of a column, or a 400 naming the column, the table and the allowed columns.
    func columnType(_ column: String) throws(ClaiflowError) -> ColumnType {
        guard let type = schema.type(of: column) else {
            throw unknownColumn(column, in: schema)
        }
        return type
    }

    /// Throws when a condition at `depth` is nested too deeply.
    static func checkDepth(_ depth: Int) throws(ClaiflowError) {
        if depth > maxDepth {
            throw ClaiflowError(.invalidArgument, "conditions are nested deeper than \(maxDepth) levels")
        }
    }

    func compare(_ op: ComparisonOperator, column: String, value: RawValue) throws(ClaiflowError) -> Condition {
        let type = try columnType(column)
        if op == .like {
            guard type == .text else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator like is only allowed on text columns, but column \(quoted(column)) is \(type.rawValue)")
            }
            guard case .string(let pattern) = value else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator like on column \(quoted(column)) expects a string pattern, got \(value.display)")
            }
            try RawValue.checkNoNUL(pattern, column: column)
            // `\` escapes the next character; one with nothing after it is refused here, the same
            // on both stores (PostgreSQL's matcher fails on it, SQLite matches nothing).
            guard pattern.reversed().prefix(while: { $0 == "\\" }).count % 2 == 0 else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator like on column \(quoted(column)): the pattern ends in an unpaired escape character '\\' "
                        + "(write '\\\\' for a backslash)")
            }
            return .compare(column: column, op: .like, value: .text(pattern))
        }
        return .compare(column: column, op: op, value: try value.coerce(to: type, column: column))
    }

    func isNull(column: String) throws(ClaiflowError) -> Condition {
        _ = try columnType(column)
        return .isNull(column: column)
    }

    /// Throws unless the column exists and `count` values are acceptable for `in`.
    func checkInListSize(column: String, count: Int) throws(ClaiflowError) {
        _ = try columnType(column)
        guard count > 0 else {
            throw ClaiflowError(.invalidArgument, "operator in on column \(quoted(column)) needs at least one value")
        }
        guard count <= Self.maxInValues else {
            throw ClaiflowError(
                .invalidArgument,
                "operator in on column \(quoted(column)) has \(count) values; at most \(Self.maxInValues) are allowed")
        }
    }

    /// Throws unless the column exists and `count` is exactly two (the bounds of `between`).
    func checkBetweenArity(column: String, count: Int) throws(ClaiflowError) {
        _ = try columnType(column)
        guard count == 2 else {
            throw ClaiflowError(
                .invalidArgument,
                "operator between on column \(quoted(column)) expects exactly two values (low and high), got \(count)")
        }
    }

    func inList(column: String, values: [RawValue]) throws(ClaiflowError) -> Condition {
        let type = try columnType(column)
        try checkInListSize(column: column, count: values.count)
        var coerced: [QueryValue] = []
        coerced.reserveCapacity(values.count)
        for value in values {
            coerced.append(try value.coerce(to: type, column: column))
        }
        return .inList(column: column, values: coerced)
    }

    func between(column: String, low: RawValue, high: RawValue) throws(ClaiflowError) -> Condition {
        let type = try columnType(column)
        return .between(
            column: column,
            low: try low.coerce(to: type, column: column),
            high: try high.coerce(to: type, column: column))
    }
}

/// A 400 for a column outside the whitelist, naming the table and the allowed columns.
func unknownColumn(_ column: String, in schema: TableSchema) -> ClaiflowError {
    ClaiflowError(
        .invalidArgument,
        "unknown column \(quoted(column)) for table \(quoted(schema.name)); allowed columns: "
            + schema.columnNames.joined(separator: ", "))
}
