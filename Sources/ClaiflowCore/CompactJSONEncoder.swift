import Foundation

/// Encodes `Encodable` values as compact JSON with object keys sorted by their UTF-8 bytes:
/// byte for byte what Foundation's `JSONEncoder` writes with `[.sortedKeys,
/// .withoutEscapingSlashes]` (the API's response format), at a fraction of its cost.
///
/// Strings are escaped as Foundation escapes them (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
/// other control characters as `\u00xx`; `/` and non-ASCII left as they are); integers and
/// booleans are written directly. The few values whose text Foundation decides in its own way
/// (floating point numbers, `Date`, `Data`, `URL`, `Decimal`) are encoded by Foundation's encoder
/// on their own and spliced in, so they too come out identical. Of a key encoded twice in one
/// object the last value wins, as with Foundation.
public struct CompactJSONEncoder: Sendable {
    public init() {}

    /// The JSON text of `value`, as UTF-8 bytes.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try JSONTreeEncoder.node(for: value, codingPath: [])
        var out: [UInt8] = []
        out.reserveCapacity(256)
        node.write(into: &out)
        return out
    }

    /// Appends `s` as a JSON string, escaped as ``encode(_:)`` escapes strings: for types that
    /// write their JSON directly.
    public static func writeString(_ s: String, into out: inout [UInt8]) { JSONNode.writeString(s, into: &out) }

    /// Appends an integer as ``encode(_:)`` writes it.
    public static func writeInteger(_ i: Int, into out: inout [UInt8]) { JSONNode.int(Int64(i)).write(into: &out) }
}

/// A value being encoded: scalars are final, containers are filled while encoding.
private enum JSONNode {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case string(String)
    /// JSON text produced by Foundation's encoder.
    case raw([UInt8])
    case array(JSONArrayRef)
    case object(JSONObjectRef)
    /// A nested encoder (from `superEncoder`); its value is whatever it encoded.
    case encoder(JSONTreeEncoder)

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .int(let i):
            if i < 0 {
                out.append(UInt8(ascii: "-"))
                JSONNode.writeDigits(i.magnitude, into: &out)
            } else {
                JSONNode.writeDigits(UInt64(i), into: &out)
            }
        case .uint(let u): JSONNode.writeDigits(u, into: &out)
        case .string(let s): JSONNode.writeString(s, into: &out)
        case .raw(let bytes): out.append(contentsOf: bytes)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, item) in a.items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o): o.write(into: &out)
        case .encoder(let e): e.takeNode().write(into: &out)
        }
    }

    static func writeDigits(_ value: UInt64, into out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)  // 40 bytes ≥ 20 digits
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                buffer[count] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[i]) }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for i in 0..<bytes.count {
                let c = bytes[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                start = i + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: "u00".utf8)
                    out.append(hexDigits[Int(c >> 4)])
                    out.append(hexDigits[Int(c & 0x0F)])
                }
            }
            if start < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
        }
        out.append(UInt8(ascii: "\""))
    }
}

private final class JSONArrayRef {
    var items: [JSONNode] = []
}

private final class JSONObjectRef {
    var keys: [String] = []
    var values: [JSONNode] = []

    func set(_ key: String, _ value: JSONNode) {
        keys.append(key)
        values.append(value)
    }

    func write(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        // Sorted by UTF-8 bytes, as Foundation sorts; a stable sort keeps a repeated key's
        // entries in order, and the last one is written.
        let order = keys.indices.sorted { a, b in
            let (x, y) = (keys[a], keys[b])
            return x != y ? x.utf8.lexicographicallyPrecedes(y.utf8) : a < b
        }
        var first = true
        for (n, i) in order.enumerated() {
            if n + 1 < order.count, keys[order[n + 1]] == keys[i] { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONNode.writeString(keys[i], into: &out)
            out.append(UInt8(ascii: ":"))
            values[i].write(into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// The `Encoder` handed to `encode(to:)`: it records one value, one array or one object.
private final class JSONTreeEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    private var single: JSONNode?
    private var array: JSONArrayRef?
    private var object: JSONObjectRef?

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    /// What was encoded; an encoder given nothing stands for an empty object, as in Foundation.
    func takeNode() -> JSONNode {
        if let object { return .object(object) }
        if let array { return .array(array) }
        return single ?? .object(JSONObjectRef())
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let o: JSONObjectRef
        if let object {
            o = object
        } else {
            o = JSONObjectRef()
            object = o
        }
        return KeyedEncodingContainer(JSONKeyedContainer<Key>(object: o, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let a: JSONArrayRef
        if let array {
            a = array
        } else {
            a = JSONArrayRef()
            array = a
        }
        return JSONUnkeyedContainer(array: a, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { JSONSingleValueContainer(encoder: self) }

    fileprivate func setSingle(_ node: JSONNode) { single = node }

    /// Foundation's encoder, for the values whose text it decides itself.
    private static let foundation: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }()

    /// The node of a value at `codingPath` (computed only for a value that encodes itself).
    static func node<T: Encodable>(for value: T, codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONNode {
        // Metatype comparisons are resolved at compile time where `T` is known, and cost a
        // pointer comparison where it is not; dynamic casts would cost a runtime call each.
        if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
        if T.self == Int.self { return .int(Int64(unsafeBitCast(value, to: Int.self))) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == Int64.self { return .int(unsafeBitCast(value, to: Int64.self)) }
        if T.self == Int32.self { return .int(Int64(unsafeBitCast(value, to: Int32.self))) }
        if T.self == Int16.self { return .int(Int64(unsafeBitCast(value, to: Int16.self))) }
        if T.self == Int8.self { return .int(Int64(unsafeBitCast(value, to: Int8.self))) }
        if T.self == UInt.self { return .uint(UInt64(unsafeBitCast(value, to: UInt.self))) }
        if T.self == UInt64.self { return .uint(unsafeBitCast(value, to: UInt64.self)) }
        if T.self == UInt32.self { return .uint(UInt64(unsafeBitCast(value, to: UInt32.self))) }
        if T.self == UInt16.self { return .uint(UInt64(unsafeBitCast(value, to: UInt16.self))) }
        if T.self == UInt8.self { return .uint(UInt64(unsafeBitCast(value, to: UInt8.self))) }
        if T.self == Timestamp.self { return .string(unsafeBitCast(value, to: Timestamp.self).rfc3339) }
        if T.self == JSONValue.self { return try node(for: unsafeBitCast(value, to: JSONValue.self)) }
        if T.self == Double.self || T.self == Float.self || T.self == Date.self || T.self == Data.self
            || T.self == URL.self || T.self == Decimal.self
        {
            return .raw(Array(try foundation.encode(value)))
        }
        let encoder = JSONTreeEncoder(codingPath: codingPath())
        try value.encode(to: encoder)
        return encoder.takeNode()
    }

    /// A ``JSONValue`` the way its `encode(to:)` encodes it, without an encoder per value.
    private static func node(for value: JSONValue) throws -> JSONNode {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .integer(let i): return .int(i)
        case .number(let d): return .raw(Array(try foundation.encode(d)))
        case .string(let s): return .string(s)
        case .array(let items):
            let a = JSONArrayRef()
            a.items.reserveCapacity(items.count)
            for item in items { a.items.append(try node(for: item)) }
            return .array(a)
        case .object(let members):
            let o = JSONObjectRef()
            o.keys.reserveCapacity(members.count)
            o.values.reserveCapacity(members.count)
            for (k, v) in members { o.set(k, try node(for: v)) }
            return .object(o)
        }
    }
}

private struct JSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: JSONObjectRef
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.set(key.stringValue, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.set(key.stringValue, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.set(key.stringValue, .string(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.set(key.stringValue, .int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.set(key.stringValue, .int(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try JSONTreeEncoder.node(for: value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = JSONObjectRef()
        object.set(key.stringValue, .object(nested))
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONArrayRef()
        object.set(key.stringValue, .array(nested))
        return JSONUnkeyedContainer(array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let encoder = JSONTreeEncoder(codingPath: codingPath + [JSONIndexKey(name)])
        object.set(name, .encoder(encoder))
        return encoder
    }
}

private struct JSONUnkeyedContainer: UnkeyedEncodingContainer {
    let array: JSONArrayRef
    let codingPath: [any CodingKey]
    var count: Int { array.items.count }

    mutating func encodeNil() throws { array.items.append(.null) }
    mutating func encode(_ value: Bool) throws { array.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { array.items.append(.string(value)) }
    mutating func encode(_ value: Int) throws { array.items.append(.int(Int64(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = array.items.count
        array.items.append(try JSONTreeEncoder.node(for: value, codingPath: codingPath + [JSONIndexKey(index: index)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONObjectRef()
        let key = JSONIndexKey(index: array.items.count)
        array.items.append(.object(nested))
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONArrayRef()
        let key = JSONIndexKey(index: array.items.count)
        array.items.append(.array(nested))
        return JSONUnkeyedContainer(array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = JSONTreeEncoder(codingPath: codingPath + [JSONIndexKey(index: array.items.count)])
        array.items.append(.encoder(encoder))
        return encoder
    }
}

private struct JSONSingleValueContainer: SingleValueEncodingContainer {
    let encoder: JSONTreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.setSingle(.null) }
    mutating func encode(_ value: Bool) throws { encoder.setSingle(.bool(value)) }
    mutating func encode(_ value: String) throws { encoder.setSingle(.string(value)) }
    mutating func encode(_ value: Int) throws { encoder.setSingle(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { encoder.setSingle(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.setSingle(try JSONTreeEncoder.node(for: value, codingPath: codingPath))
    }
}

/// A coding key for array positions and `super` encoders.
private struct JSONIndexKey: CodingKey {
    private let name: String?
    let intValue: Int?

    var stringValue: String { name ?? "Index \(intValue ?? 0)" }

    init(_ name: String) {
        self.name = name
        intValue = nil
    }

    init(index: Int) {
        name = nil
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
