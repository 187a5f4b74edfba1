import ClaiflowCore
import Foundation
import Testing

/// The API's responses must not change by a byte: every case is compared with Foundation's
/// `JSONEncoder` configured as the responses were (`[.withoutEscapingSlashes, .sortedKeys]`).
@Suite("CompactJSONEncoder")
struct CompactJSONEncoderTests {
    static let foundation: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }()

    func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = String(decoding: try CompactJSONEncoder().encode(value), as: UTF8.self)
        let theirs = String(decoding: try Self.foundation.encode(value), as: UTF8.self)
        #expect(ours == theirs, sourceLocation: sourceLocation)
    }

    struct Inner: Encodable {
        let step_seq: Int
        let message: String?
        let started: Timestamp?
    }

    struct Wire: Encodable {
        let uuid: String
        let name: String
        let summary: String?
        let count: Int64
        let small: Int8
        let unsigned: UInt64
        let flag: Bool
        let ratio: Double
        let when: Timestamp
        let inputs: JSONValue
        let statuses: [Inner]?
        let tags: [String: Int]
        let optionals: [String?]
    }

    /// Encodes through nested containers, a super encoder and a repeated key.
    struct Manual: Encodable {
        enum K: String, CodingKey { case b, a, nested, list, dup }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode("first", forKey: .dup)
            try c.encode(2, forKey: .b)
            var n = c.nestedContainer(keyedBy: K.self, forKey: .nested)
            try n.encodeNil(forKey: .a)
            var l = c.nestedUnkeyedContainer(forKey: .list)
            try l.encode(1)
            try l.encode("x")
            var inner = l.nestedUnkeyedContainer()
            try inner.encode(true)
            try Inner(step_seq: 1, message: nil, started: nil).encode(to: c.superEncoder(forKey: .a))
            try c.encode("second", forKey: .dup)
        }
    }

    struct Empty: Encodable {
        func encode(to encoder: Encoder) throws {}
    }

    @Test("scalars, strings and escapes")
    func scalars() throws {
        try expectSame("plain")
        try expectSame("q\"\\/\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f} \u{7f}é😀\u{2028}<>&'")
        try expectSame([Int.min, -1, 0, 9, 10, 99, 100, Int.max])
        try expectSame([UInt64.max, 0])
        try expectSame([true, false])
        try expectSame([0.1, 1.5, 100, 1e16, 1e-7, -0.0, 12345.678])
        try expectSame([Float(0.1)])
        try expectSame([String?.none, "x"])
        try expectSame([Int]())
        try expectSame([String: Int]())
    }

    @Test("keys sorted by UTF-8 bytes, nested values, Foundation's own types")
    func structures() throws {
        let keys = ["a10", "a9", "B", "a", "_x", "é", "Z", "a_b", "ab", "a-b", "", "a.b", "a/b", "\u{FFFF}", "😀", "e\u{301}x"]
        try expectSame(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }))
        let inputs = try JSONValue.parse(
            #"{"namespace":"default","labels":{"app.kubernetes.io/name":"web","z":[1,2.5,null,true,"s"]},"n":-3,"f":0.25}"#)
        let wire = Wire(
            uuid: "0123456789abcdef0123456789abcdef", name: "na\"me\n", summary: nil, count: -42, small: -8, unsigned: 7,
            flag: true, ratio: 0.3, when: Timestamp(microseconds: 1_709_644_200_000_001), inputs: inputs,
            statuses: [
                Inner(step_seq: 0, message: "ok", started: Timestamp(microseconds: 0)),
                Inner(step_seq: 1, message: nil, started: nil),
            ],
            tags: ["b": 1, "a": 2], optionals: [nil, "y"])
        try expectSame(wire)
        try expectSame([wire, wire])
        try expectSame(
            Wire(
                uuid: "", name: "", summary: "s", count: 0, small: 0, unsigned: 0, flag: false, ratio: 1,
                when: Timestamp(microseconds: -1),
                inputs: .null, statuses: nil, tags: [:], optionals: []))
        try expectSame(Manual())
        try expectSame([Empty()])
        try expectSame(["date": Date(timeIntervalSince1970: 1_700_000_000.5)])
        try expectSame(["data": Data([0, 1, 2, 250])])
        try expectSame(["url": URL(string: "https://example.com/a/b?c=d")])
        try expectSame(["decimal": Decimal(string: "12.340")])
        try expectSame([1: "one", 10: "ten", 2: "two"])
    }

    @Test("a value Foundation refuses is refused")
    func nonFinite() {
        #expect(throws: (any Error).self) { try CompactJSONEncoder().encode([Double.nan]) }
    }
}
