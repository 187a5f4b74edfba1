import Foundation

/// A decoded JSON document, used where the API must treat input loosely the way the original
/// (Go) server did: case-insensitive keys, `null` meaning absent, and type errors that name the field.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses a JSON text; throws a 400 that says where the syntax is wrong. Integers that fit
    /// 64 bits stay exact; other numbers become doubles; of duplicate keys the last wins.
    public static func parse(_ data: some Collection<UInt8>) throws(ClaiflowError) -> JSONValue {
        do {
            return JSONValue(try JSONDocumentParser.parse(bytes: Array(data)))
        } catch {
            throw ClaiflowError(.invalidArgument, "malformed JSON: \(error.message)")
        }
    }

    /// Parses a JSON text given as a string.
    public static func parse(_ text: String) throws(ClaiflowError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Converts a parsed document.
    public init(_ doc: JSONDocument) {
        switch doc {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let text):
            if let i = Int64(text) {
                self = .integer(i)
            } else {
                self = .number(Double(text) ?? 0)
            }
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members):
            var dict: [String: JSONValue] = [:]
            dict.reserveCapacity(members.count)
            for m in members { dict[m.key] = JSONValue(m.value) }
            self = .object(dict)
        }
    }

    /// A short name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Looks a key up the way Go's encoding/json does: an exact match first, then a
    /// case-insensitive one. Returns nil for a missing key and for an explicit `null`.
    public func field(_ key: String) -> JSONValue? {
        guard case .object(let dict) = self else { return nil }
        if let v = dict[key] { return v == .null ? nil : v }
        // Several keys differing only in case: take the lexicographically first, so the choice is stable.
        let lower = key.lowercased()
        guard let match = dict.keys.filter({ $0.lowercased() == lower }).min(), let v = dict[match] else { return nil }
        return v == .null ? nil : v
    }

    /// Serializes compactly with sorted keys.
    public func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) } else { out += "\(d)" }
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(k, into: &out)
                out += ":"
                o[k]?.write(into: &out)
            }
            out += "}"
        }
    }

    /// Appends a JSON string literal.
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
            return
        }
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
            return
        }
        if let i = try? c.decode(Int64.self) {
            self = .integer(i)
            return
        }
        if let d = try? c.decode(Double.self) {
            self = .number(d)
            return
        }
        if let s = try? c.decode(String.self) {
            self = .string(s)
            return
        }
        if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
            return
        }
        self = .object(try c.decode([String: JSONValue].self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
