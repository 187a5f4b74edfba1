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

    static func render(_ c: Condition, dialect: SQLDialect, aliases: [String: String] = [:]) -> SQL {
        func column(_ name: String) -> SQL { QueryRenderer.column(name, aliases) }
        func render(_ c: Condition, dialect: SQLDialect) -> SQL { QueryRenderer.render(c, dialect: dialect, aliases: aliases) }
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
            case .like: sqlOp = dialect == .postgres ? "ILIKE" : "LIKE"
            }
            // `\` escapes `%` and `_` on both databases (SQLite has no default escape character).
            let escape = op == .like ? " ESCAPE '\\'" : ""
            return column(col) + " \(raw: sqlOp) \(bind: value(v))\(raw: escape)"
        case .isNull(let col): return column(col) + " IS NULL"
        case .inList(let col, let values):
            return column(col) + " IN (" + SQL.join(values.map { "\(bind: value($0))" }, separator: ", ") + ")"
        case .between(let col, let low, let high):
            return column(col) + " BETWEEN \(bind: value(low)) AND \(bind: value(high))"
        }
    }

    /// `ORDER BY` for the given terms, always ending with a unique column so pages are stable.
    static func orderBy(_ terms: [OrderTerm], fallback: String, aliases: [String: String] = [:]) -> SQL {
        var parts = terms.map { column($0.column, aliases) + ($0.descending ? " DESC" : " ASC") }
        if !terms.contains(where: { $0.column == fallback }) { parts.append(column(fallback) + " ASC") }
        return " ORDER BY " + SQL.join(parts, separator: ", ")
    }
}
