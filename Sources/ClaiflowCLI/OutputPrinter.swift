import ClaiflowCore
import Foundation
import Yams

/// Renders what a command got from the server in the chosen `-o` format.
public struct OutputPrinter: Sendable {
    /// The format.
    public var format: OutputFormat

    /// Creates a printer.
    public init(format: OutputFormat) { self.format = format }

    /// `value` as text: JSON or YAML of the value itself, or the table that `table` makes
    /// (given whether `-o wide` asked for more columns).
    public func render<T: Encodable>(_ value: T, table: (_ wide: Bool) -> Table) throws -> String {
        switch format {
        case .table: table(false).render()
        case .wide: table(true).render()
        case .json: try Self.json(value) + "\n"
        case .yaml: try Self.yaml(value)
        }
    }

    /// `value` as indented JSON with sorted keys, timestamps as the API writes them.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp(date).rfc3339)
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// `value` as YAML (through its JSON, so the two always agree).
    public static func yaml<T: Encodable>(_ value: T) throws -> String {
        let json = try JSONValue.parse(try Self.json(value))
        return try Yams.serialize(node: node(json), sortKeys: true)
    }

    /// A JSON value as a YAML node (strings quoted where YAML would read them as something else).
    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .integer(let i): return Node(String(i), Tag(.int))
        case .number(let d): return Node(String(d), Tag(.float))
        case .string(let s): return Node(s, Tag(.str), Self.needsQuotes(s) ? .doubleQuoted : .any)
        case .array(let items): return Node(items.map(node))
        case .object(let members):
            return Node(members.sorted { $0.key < $1.key }.map { (Node($0.key), node($0.value)) })
        }
    }

    /// Whether a plain scalar would be read back as another type or break the line structure.
    static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty || s.contains("\n") || s.first == " " || s.last == " " { return true }
        guard let loaded = try? Yams.load(yaml: s), let text = loaded as? String else { return true }
        return text != s
    }
}
