import ClaiflowCore

/// A response value that writes its own compact JSON, byte for byte what ``CompactJSONEncoder``
/// writes for its `Encodable` conformance (keys sorted by their UTF-8 bytes, `nil` optionals
/// left out), without building the encoder's tree: for the answers of hot routes.
protocol JSONWritable: Encodable {
    /// Appends the value's compact JSON.
    func writeJSON(into out: inout [UInt8]) throws
}

/// Writes one JSON object whose keys the caller gives in sorted order.
struct JSONObjectWriter {
    private var first = true

    init(into out: inout [UInt8]) { out.append(UInt8(ascii: "{")) }

    /// Appends `"key":` (after a comma unless it is the first member).
    mutating func key(_ key: String, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        CompactJSONEncoder.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    mutating func string(_ key: String, _ value: String?, into out: inout [UInt8]) {
        guard let value else { return }
        self.key(key, into: &out)
        CompactJSONEncoder.writeString(value, into: &out)
    }

    mutating func integer(_ key: String, _ value: Int, into out: inout [UInt8]) {
        self.key(key, into: &out)
        CompactJSONEncoder.writeInteger(value, into: &out)
    }

    mutating func timestamp(_ key: String, _ value: Timestamp?, into out: inout [UInt8]) {
        string(key, value?.rfc3339, into: &out)
    }

    /// A member encoded by ``CompactJSONEncoder`` (for values that are rare or nested).
    mutating func encoded(_ key: String, _ value: (some Encodable)?, into out: inout [UInt8]) throws {
        guard let value else { return }
        self.key(key, into: &out)
        out.append(contentsOf: try JSONResponse.compact.encode(value))
    }

    func end(into out: inout [UInt8]) { out.append(UInt8(ascii: "}")) }
}
