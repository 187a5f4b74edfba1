import ClaiflowCore
import Testing

@Suite("Timestamp")
struct TimestampTests {
    @Test("renders RFC 3339 UTC with six fractional digits")
    func render() {
        #expect(Timestamp(microseconds: 0).rfc3339 == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microseconds: 1_709_644_200_000_001).rfc3339 == "2024-03-05T13:10:00.000001Z")
        #expect(Timestamp(microseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamp(microseconds: 951_782_400_000_000).rfc3339 == "2000-02-29T00:00:00.000000Z")
        #expect(Timestamp(microseconds: 253_402_300_799_999_999).rfc3339 == "9999-12-31T23:59:59.999999Z")
        #expect(Timestamp(microseconds: 253_402_300_800_000_000).rfc3339 == "10000-01-01T00:00:00.000000Z")
    }

    @Test(
        "parses RFC 3339 with offsets, fractions and the SQL-ish forms",
        arguments: [
            ("2024-03-05T13:10:00Z", 1_709_644_200_000_000),
            ("2024-03-05T13:10:00.5Z", 1_709_644_200_500_000),
            ("2024-03-05T13:10:00.123456789Z", 1_709_644_200_123_456),
            ("2024-03-05T22:10:00+09:00", 1_709_644_200_000_000),
            ("2024-03-05t13:10:00z", 1_709_644_200_000_000),
            ("2024-03-05 13:10:00", 1_709_644_200_000_000),
            ("2024-03-05", 1_709_596_800_000_000),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000_000),
        ] as [(String, Int64)])
    func parse(text: String, micros: Int64) {
        #expect(Timestamp(parsing: text)?.microseconds == micros)
    }

    @Test(
        "rejects invalid text",
        arguments: [
            "", "2024", "2024-13-01", "2023-02-29", "2024-03-05T25:00:00Z", "2024-03-05T13:10:00.Z",
            "2024-03-05T13:10:00+0900", "2024-03-05T13:10:00Zjunk", "yesterday", "2024-03-05T13:10Z",
        ])
    func reject(text: String) {
        #expect(Timestamp(parsing: text) == nil)
    }

    @Test("round-trips through its text form")
    func roundTrip() {
        for micros: Int64 in [0, 1, 999_999, 1_764_000_000_123_457, -86_400_000_001, 253_402_300_799_999_999] {
            let t = Timestamp(microseconds: micros)
            #expect(Timestamp(parsing: t.rfc3339) == t)
        }
    }
}

@Suite("Global variables and identifiers")
struct GlobalVariableTests {
    @Test("validation by format")
    func validate() {
        #expect(KnownGlobalVariable.clusterTokenExpirationTime.validate("87600h") == nil)
        #expect(KnownGlobalVariable.clusterTokenExpirationTime.validate("abc") != nil)
        #expect(KnownGlobalVariable.clusterTokenExpirationTime.validate("-1h") != nil)
        #expect(KnownGlobalVariable.clientSessionExpirationTime.validate("0") != nil)
        #expect(KnownGlobalVariable.clientSessionExpirationTime.validate("30s") == nil)
        #expect(KnownGlobalVariable.clientSessionSignatureSecret.validate("not base64!") != nil)
        #expect(KnownGlobalVariable.clientSessionSignatureSecret.validate("c2VjcmV0") != nil)  // too short
        #expect(KnownGlobalVariable.clientSessionSignatureSecret.validate(Base64.encode([UInt8](repeating: 7, count: 32))) == nil)
    }

    @Test("zero durations mean the original's defaults")
    func zeroDefaults() {
        var problems: [String] = []
        let now = Timestamp.now()
        let rows = [
            GlobalVariable(
                uuid: KnownGlobalVariable.clusterTokenExpirationTime.uuid, name: "", summary: nil, value: "0", created: now,
                updated: now),
            GlobalVariable(
                uuid: KnownGlobalVariable.clientConfigServiceValidityPeriod.uuid, name: "", summary: nil, value: "0s",
                created: now, updated: now),
            GlobalVariable(
                uuid: KnownGlobalVariable.clientSessionExpirationTime.uuid, name: "", summary: nil, value: "bad", created: now,
                updated: now),
        ]
        let s = GlobalSettings(rows: rows, problems: &problems)
        #expect(s.clusterTokenExpiration == .seconds(365 * 86400))
        #expect(s.serviceValidityPeriod == .seconds(600))
        #expect(s.sessionExpiration == .seconds(60))
        #expect(problems.count == 1)
    }

    @Test("identifiers")
    func identifiers() {
        let id = Identifier.generate()
        #expect(id.count == 32)
        #expect(id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        // A version 4 UUID of the RFC 4122 variant, without dashes.
        #expect(Array(id)[12] == "4")
        #expect("89ab".contains(Array(id)[16]))
        #expect(Identifier.generate() != id)
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Identifier.isValid("example_simple"))
        #expect(Identifier.isValid("ABC-123"))
        #expect(!Identifier.isValid(""))
        #expect(!Identifier.isValid(String(repeating: "a", count: 33)))
        #expect(!Identifier.isValid("a b"))
        #expect(!Identifier.isValid("a'--"))
    }
}

@Suite("JSONValue")
struct JSONValueTests {
    @Test("fields are found case-insensitively, exact match first, null meaning absent, ties broken stably")
    func fields() throws {
        let v = try JSONValue.parse(#"{"Name":"a","NAME":"b","summary":null,"uuid":"x","UUID":"y"}"#)
        #expect(v.field("name") == .string("b"))  // "NAME" < "Name"
        #expect(v.field("uuid") == .string("x"))
        #expect(v.field("summary") == nil)
        #expect(v.field("missing") == nil)
    }

    @Test("malformed JSON is a 400")
    func malformed() {
        #expect(throws: ClaiflowError.self) { try JSONValue.parse("{") }
        #expect(throws: ClaiflowError.self) { try JSONValue.parse("") }
    }

    @Test("integers, doubles and booleans stay distinct")
    func types() throws {
        #expect(try JSONValue.parse("[1, 1.5, true, null]") == .array([.integer(1), .number(1.5), .bool(true), .null]))
    }
}
