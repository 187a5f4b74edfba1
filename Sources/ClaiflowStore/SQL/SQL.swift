/// The SQL dialects the store speaks.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A SQL statement with its bound values kept apart from the text, built by string
/// interpolation: `"SELECT * FROM cluster WHERE uuid = \(bind: uuid)"`. Only `raw` pieces
/// become SQL text, and those come from the code, never from a request.
public struct SQL: Sendable, ExpressibleByStringInterpolation {
    enum Part: Sendable {
        case raw(String)
        case bind(SQLValue)
    }

    var parts: [Part]

    public init(stringLiteral value: String) { parts = [.raw(value)] }

    public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }

    init(parts: [Part]) { self.parts = parts }

    /// The statement interpolation.
    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: String) { parts.append(.raw(literal)) }
        /// Binds a value as a parameter.
        public mutating func appendInterpolation(bind value: SQLValue) { parts.append(.bind(value)) }
        /// Binds a string as a parameter.
        public mutating func appendInterpolation(bind value: String) { parts.append(.bind(.text(value))) }
        /// Binds an optional string as a parameter.
        public mutating func appendInterpolation(bind value: String?) { parts.append(.bind(.optional(value))) }
        /// Binds an integer as a parameter.
        public mutating func appendInterpolation(bind value: Int64) { parts.append(.bind(.integer(value))) }
        /// Binds an integer as a parameter.
        public mutating func appendInterpolation(bind value: Int) { parts.append(.bind(.integer(Int64(value)))) }
        /// Inserts a code-controlled SQL fragment (an identifier from a whitelist, a keyword).
        public mutating func appendInterpolation(raw value: String) { parts.append(.raw(value)) }
        /// Inserts another statement fragment with its binds.
        public mutating func appendInterpolation(_ sql: SQL) { parts.append(contentsOf: sql.parts) }
    }

    /// Appends another fragment.
    public static func + (l: SQL, r: SQL) -> SQL { SQL(parts: l.parts + r.parts) }

    /// Appends another fragment.
    public static func += (l: inout SQL, r: SQL) { l.parts += r.parts }

    /// Joins fragments with a separator.
    public static func join(_ items: [SQL], separator: String) -> SQL {
        var parts: [Part] = []
        for (i, item) in items.enumerated() {
            if i > 0 { parts.append(.raw(separator)) }
            parts += item.parts
        }
        return SQL(parts: parts)
    }

    /// The text with dialect placeholders (`?` or `$n`) and the values in order.
    public func render(_ dialect: SQLDialect) -> (text: String, binds: [SQLValue]) {
        var text = ""
        var binds: [SQLValue] = []
        for part in parts {
            switch part {
            case .raw(let s): text += s
            case .bind(let v):
                binds.append(v)
                text += dialect == .sqlite ? "?" : "$\(binds.count)"
            }
        }
        return (text, binds)
    }
}
