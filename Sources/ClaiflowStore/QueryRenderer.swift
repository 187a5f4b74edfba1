import ClaiflowCore
import ClaiflowQuery

/// Renders the list language's condition tree (already checked against the table's column
/// whitelist) as SQL with bound parameters only.
enum QueryRenderer {
    static func value(_ v: QueryValue) -> SQLValue {
        switch v {
        case .null: .null
        case .text(let s): .text(s)
        case .integer(let i): .integer(i)
        case .timestamp(let t): .timestamp(t)
        }
    }

    /// Column names come from the whitelist, so they are safe as identifiers; they are still quoted.
    static func column(_ name: String, _ aliases: [String: String] = [:]) -> SQL {
        SQL(stringLiteral: "\"\(aliases[name] ?? name)\"")
    }

    /// `unindexed` names columns whose `like` must not be served by an index (SQLite: a unary
    /// `+` before the column; see `PrefixRangePlanner`).
    static func render(
        _ c: Condition, dialect: SQLDialect, aliases: [String: String] = [:], unindexed: Set<String> = []
    ) -> SQL {
        func column(_ name: String) -> SQL { QueryRenderer.column(name, aliases) }
        func render(_ c: Condition, dialect: SQLDialect) -> SQL {
            QueryRenderer.render(c, dialect: dialect, aliases: aliases, unindexed: unindexed)
        }
        switch c {
        case .and(let items): return "(" + SQL.join(items.map { render($0, dialect: dialect) }, separator: " AND ") + ")"
        case .or(let items): return "(" + SQL.join(items.map { render($0, dialect: dialect) }, separator: " OR ") + ")"
        case .not(let inner): return "NOT (" + render(inner, dialect: dialect) + ")"
        case .compare(let col, let op, let v):
            let sqlOp: String
            switch op {
            case .eq: sqlOp = "="
            case .gt: sqlOp = ">"
            case .lt: sqlOp = "<"
            case .ge: sqlOp = ">="
            case .le: sqlOp = "<="
            case .like:
                let subject = unindexed.contains(col) && dialect == .sqlite ? "+" + column(col) : column(col)
                return like(subject, value(v), dialect: dialect)
            }
            return column(col) + " \(raw: sqlOp) \(bind: value(v))"
        case .isNull(let col): return column(col) + " IS NULL"
        case .inList(let col, let values):
            return column(col) + " IN (" + SQL.join(values.map { "\(bind: value($0))" }, separator: ", ") + ")"
        case .between(let col, let low, let high):
            return column(col) + " BETWEEN \(bind: value(low)) AND \(bind: value(high))"
        }
    }

    /// The case-insensitive `like` of the list language; `\` escapes `%` and `_` on both
    /// databases (SQLite has no default escape character).
    ///
    /// SQLite: `LIKE`, which folds ASCII letters only; a prefix pattern is served by an index
    /// on the column `COLLATE NOCASE` (SQLite's LIKE optimisation).
    ///
    /// PostgreSQL: `lower(column) LIKE lower(pattern)`. In a multi-byte database (UTF-8)
    /// `ILIKE` is implemented as exactly this (PostgreSQL lowers both sides with `lower()` and
    /// the column's collation, then matches them case-sensitively), so the rows are the same,
    /// non-ASCII letters and escapes included; unlike `ILIKE`, this form lets the planner turn a
    /// prefix pattern into a range on a `lower(column) text_pattern_ops` index.
    ///
    /// A pattern that ends in an unpaired `\` keeps the `ILIKE` form: PostgreSQL's matcher
    /// rejects it (an error, raised only once a row's prefix matches), but the planner may read
    /// it as an exact prefix and answer from the index by equality without running the matcher.
    static func like(_ column: SQL, _ pattern: SQLValue, dialect: SQLDialect) -> SQL {
        switch dialect {
        case .sqlite:
            return column + " LIKE \(bind: pattern) ESCAPE '\\'"
        case .postgres:
            if case .text(let text) = pattern, text.reversed().prefix(while: { $0 == "\\" }).count % 2 == 1 {
                return column + " ILIKE \(bind: pattern) ESCAPE '\\'"
            }
            return "lower(" + column + ") LIKE lower(\(bind: pattern)) ESCAPE '\\'"
        }
    }

    /// `ORDER BY` for the given terms, always ending with a unique column so pages are stable.
    static func orderBy(_ terms: [OrderTerm], fallback: String, aliases: [String: String] = [:]) -> SQL {
        var parts = terms.map { column($0.column, aliases) + ($0.descending ? " DESC" : " ASC") }
        if !terms.contains(where: { $0.column == fallback }) { parts.append(column(fallback) + " ASC") }
        return " ORDER BY " + SQL.join(parts, separator: ", ")
    }
}
