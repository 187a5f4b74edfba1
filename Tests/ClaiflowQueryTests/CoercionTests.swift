import ClaiflowCore
import Testing

@testable import ClaiflowQuery

@Suite("q: value coercion")
struct CoercionTests {
    private func eqValue(_ column: String, _ json: String, _ parser: ListQueryParser = service) -> QueryValue? {
        guard case .compare(_, _, let value)? = condition("{\"eq\":{\"\(column)\":\(json)}}", parser) else { return nil }
        return value
    }

    @Test func textColumn() {
        #expect(eqValue("name", #""x""#) == .text("x"))
        #expect(eqValue("name", "5") == .text("5"))
        #expect(eqValue("name", "1.5") == .text("1.5"))
        #expect(eqValue("name", "-3") == .text("-3"))
        #expect(eqValue("name", "true") == .text("true"))
        #expect(eqValue("name", "false") == .text("false"))
        #expect(eqValue("name", "null") == .null)
        #expect(eqValue("name", #""""#) == .text(""))
        // Big numbers keep every digit.
        #expect(eqValue("name", "123456789012345678901234567890") == .text("123456789012345678901234567890"))
    }

    @Test func integerColumn() {
        #expect(eqValue("step_max", "5") == .integer(5))
        #expect(eqValue("step_max", "-5") == .integer(-5))
        #expect(eqValue("step_max", "0") == .integer(0))
        #expect(eqValue("step_max", "5.0") == .integer(5))
        #expect(eqValue("step_max", "1e2") == .integer(100))
        #expect(eqValue("step_max", "2.5E1") == .integer(25))
        #expect(eqValue("step_max", #""5""#) == .integer(5))
        #expect(eqValue("step_max", #""-7""#) == .integer(-7))
        #expect(eqValue("step_max", #""+7""#) == .integer(7))
        #expect(eqValue("step_max", #"" 8 ""#) == .integer(8))
        #expect(eqValue("step_max", "9223372036854775807") == .integer(Int64.max))
        #expect(eqValue("step_max", "-9223372036854775808") == .integer(Int64.min))
        #expect(eqValue("step_max", #""-9223372036854775808""#) == .integer(Int64.min))
        #expect(eqValue("step_max", "null") == .null)
    }

    @Test func integerColumnRejects() {
        let column = #"column "step_max" expects an integer, got "#
        expectBadRequest(q: #"{"eq":{"step_max":"abc"}}"#, mentions: [column + #""abc""#])
        expectBadRequest(q: #"{"eq":{"step_max":1.5}}"#, mentions: [column + "1.5"])
        expectBadRequest(q: #"{"eq":{"step_max":"1.5"}}"#, mentions: [column + #""1.5""#])
        expectBadRequest(q: #"{"eq":{"step_max":"1e2"}}"#, mentions: [column + #""1e2""#])
        expectBadRequest(q: #"{"eq":{"step_max":""}}"#, mentions: [column + #""""#])
        expectBadRequest(q: #"{"eq":{"step_max":true}}"#, mentions: [column + "true"])
        expectBadRequest(q: #"{"eq":{"step_max":false}}"#, mentions: [column + "false"])
        expectBadRequest(q: #"{"eq":{"step_max":1e-3}}"#, mentions: [column + "1e-3"])
        expectBadRequest(
            q: #"{"eq":{"step_max":9223372036854775808}}"#, mentions: [column + "9223372036854775808 (out of range)"])
        expectBadRequest(q: #"{"eq":{"step_max":"99999999999999999999"}}"#, mentions: ["out of range"])
        expectBadRequest(q: #"{"eq":{"step_max":1e400}}"#, mentions: ["out of range"])
        expectBadRequest(q: #"{"in":{"priority":[1,"x"]}}"#, mentions: [#"column "priority" expects an integer, got "x""#])
        expectBadRequest(q: "(eq step_max abc)", mentions: [column + #""abc""#])
        expectBadRequest(q: "(eq step_max 1.5)", mentions: [column + "1.5"])
        expectBadRequest(q: "(eq step_max 0x10)", mentions: [column + #""0x10""#])
    }

    @Test func timestampColumn() {
        #expect(eqValue("created", #""2024-01-01""#) == .timestamp(jan1))
        #expect(eqValue("created", #""2024-01-01T02:00:00+02:00""#) == .timestamp(jan1))
        #expect(eqValue("created", #""2024-01-01 00:00:00""#) == .timestamp(jan1))
        #expect(
            eqValue("created", #""2024-01-01 00:00:00.25""#) == .timestamp(Timestamp(microseconds: jan1.microseconds + 250_000)))
        #expect(eqValue("created", #""2023-12-31T19:00:00-05:00""#) == .timestamp(jan1))
        #expect(eqValue("created", "1704067200") == .timestamp(jan1))
        #expect(eqValue("created", "1704067200.000001") == .timestamp(Timestamp(microseconds: jan1.microseconds + 1)))
        #expect(eqValue("created", "1704067200.0000019") == .timestamp(Timestamp(microseconds: jan1.microseconds + 1)))
        #expect(eqValue("created", "1.7040672E9") == .timestamp(jan1))
        #expect(eqValue("created", "0") == .timestamp(Timestamp(microseconds: 0)))
        #expect(eqValue("created", "-1") == .timestamp(Timestamp(microseconds: -1_000_000)))
        #expect(eqValue("updated", "null", cluster) == .null)
    }

    @Test func timestampColumnRejects() {
        let column = #"column "created" expects a timestamp"#
        expectBadRequest(
            q: #"{"eq":{"created":"yesterday"}}"#, mentions: [column, #"got "yesterday""#, "RFC 3339", "Unix seconds"])
        expectBadRequest(q: #"{"eq":{"created":"1704067200"}}"#, mentions: [column, #"got "1704067200""#])
        expectBadRequest(q: #"{"eq":{"created":"2024-02-30"}}"#, mentions: [column, #""2024-02-30""#])
        expectBadRequest(q: #"{"eq":{"created":true}}"#, mentions: [column, "got true"])
        expectBadRequest(q: #"{"eq":{"created":1e300}}"#, mentions: [column, "out of range"])
        expectBadRequest(
            cluster, q: #"{"between":{"updated":["2024-01-01","soon"]}}"#,
            mentions: [#"column "updated" expects a timestamp"#, #""soon""#])
        expectBadRequest(q: "(gt created yesterday)", mentions: [column, #"got "yesterday""#])
    }

    @Test func coercionAppliesToEveryOperator() {
        #expect(
            condition(#"{"in":{"created":["2024-01-01",1704067200]}}"#)
                == .inList(column: "created", values: [.timestamp(jan1), .timestamp(jan1)]))
        #expect(
            condition(#"{"in":{"name":[1,true,null,"x"]}}"#)
                == .inList(column: "name", values: [.text("1"), .text("true"), .null, .text("x")]))
        #expect(
            condition(#"{"between":{"priority":["1",2.0]}}"#)
                == .between(column: "priority", low: .integer(1), high: .integer(2)))
        #expect(
            condition(#"{"between":{"name":[null,"m"]}}"#)
                == .between(column: "name", low: .null, high: .text("m")))
    }
}

@Suite("DecimalText")
struct DecimalTextTests {
    @Test func scaled() {
        #expect(DecimalText.scaled("12", by: 0) == .value(12, exact: true))
        #expect(DecimalText.scaled("-12.9", by: 0) == .value(-12, exact: false))
        #expect(DecimalText.scaled("12.90", by: 1) == .value(129, exact: true))
        #expect(DecimalText.scaled(".5", by: 0) == .value(0, exact: false))
        #expect(DecimalText.scaled("5.", by: 0) == .value(5, exact: true))
        #expect(DecimalText.scaled("+5", by: 0) == .value(5, exact: true))
        #expect(DecimalText.scaled("0.000", by: 0) == .value(0, exact: true))
        #expect(DecimalText.scaled("1e-999999999999", by: 0) == .value(0, exact: false))
        #expect(DecimalText.scaled("0e999999999999", by: 0) == .value(0, exact: true))
        #expect(DecimalText.scaled("1e999999999999", by: 0) == .overflow(negative: false))
        #expect(DecimalText.scaled("-1e19", by: 0) == .overflow(negative: true))
        #expect(DecimalText.scaled("9223372036854775807", by: 0) == .value(Int64.max, exact: true))
        #expect(DecimalText.scaled("9223372036854775808", by: 0) == .overflow(negative: false))
        #expect(DecimalText.scaled("-9223372036854775808", by: 0) == .value(Int64.min, exact: true))
        #expect(DecimalText.scaled("-9223372036854775809", by: 0) == .overflow(negative: true))
        #expect(DecimalText.scaled("0000000000000000000000001", by: 0) == .value(1, exact: true))
        for bad in ["", ".", "-", "1e", "1e+", "abc", "1.2.3", "1 ", " 1", "--1", "0x10", "1_000"] {
            #expect(DecimalText.scaled(bad, by: 0) == .invalid, "\(bad)")
        }
    }
}
