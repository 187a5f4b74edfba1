import ClaiflowCore
import Testing

@testable import ClaiflowQuery

/// One condition written in both syntaxes (and optional s-expression variants).
struct BothSyntaxes: Sendable, CustomTestStringConvertible {
    let json: String
    let sexprs: [String]
    let expected: Condition
    var onCluster = false

    var testDescription: String { json }
}

let bothSyntaxCases: [BothSyntaxes] = [
    BothSyntaxes(
        json: #"{"eq":{"name":"foo"}}"#,
        sexprs: [#"(eq name "foo")"#, #"(EQ name foo)"#, #"(equal "name" "foo")"#, #"(eq name 'foo)"#],
        expected: .compare(column: "name", op: .eq, value: .text("foo"))),
    BothSyntaxes(
        json: #"{"eq":{"name":"foo bar"}}"#,
        sexprs: [#"(eq name "foo bar")"#],
        expected: .compare(column: "name", op: .eq, value: .text("foo bar"))),
    BothSyntaxes(
        json: #"{"and":[{"eq":{"cluster_uuid":"abc"}},{"gt":{"created":"2024-01-01"}}]}"#,
        sexprs: [
            #"(and (eq cluster_uuid "abc") (gt created "2024-01-01"))"#, "(AND (eq cluster_uuid abc) (GT created 2024-01-01))",
        ],
        expected: .and([
            .compare(column: "cluster_uuid", op: .eq, value: .text("abc")),
            .compare(column: "created", op: .gt, value: .timestamp(jan1)),
        ])),
    BothSyntaxes(
        json: #"{"and":[{"eq":{"cluster_uuid":"abc"}},{"gt":{"step_max":1}}]}"#,
        sexprs: [#"(and (eq cluster_uuid "abc") (gt step_max 1))"#],
        expected: .and([
            .compare(column: "cluster_uuid", op: .eq, value: .text("abc")),
            .compare(column: "step_max", op: .gt, value: .integer(1)),
        ])),
    BothSyntaxes(
        json: #"{"or":[{"and":[{"eq":{"step_max":1}},{"eq":{"priority":2}}]},{"eq":{"name":3}}]}"#,
        sexprs: [#"(or (and (eq step_max 1) (eq priority 2)) (eq name 3))"#],
        expected: .or([
            .and([
                .compare(column: "step_max", op: .eq, value: .integer(1)),
                .compare(column: "priority", op: .eq, value: .integer(2)),
            ]),
            .compare(column: "name", op: .eq, value: .text("3")),
        ])),
    BothSyntaxes(
        json: #"{"not":{"like":{"name":"test%"}}}"#,
        sexprs: [#"(not (like name "test%"))"#, "(Not (LIKE name test%))"],
        expected: .not(.compare(column: "name", op: .like, value: .text("test%")))),
    BothSyntaxes(
        json: #"{"in":{"uuid":["u1","u2"]}}"#,
        sexprs: [#"(in uuid "u1" "u2")"#, "(in uuid u1 u2)", "(in uuid '(u1 u2))", #"(IN "uuid" (quote ("u1" "u2")))"#],
        expected: .inList(column: "uuid", values: [.text("u1"), .text("u2")])),
    BothSyntaxes(
        json: #"{"in":{"uuid":"u1"}}"#,
        sexprs: ["(in uuid u1)", "(in uuid 'u1)", "(in uuid '(u1))"],
        expected: .inList(column: "uuid", values: [.text("u1")])),
    BothSyntaxes(
        json: #"{"in":{"priority":[0,2]}}"#,
        sexprs: ["(in priority 0 2)", "(in priority '(0 2))", #"(in priority "0" "2")"#],
        expected: .inList(column: "priority", values: [.integer(0), .integer(2)])),
    BothSyntaxes(
        json: #"{"between":{"step_max":[1,3]}}"#,
        sexprs: ["(between step_max 1 3)", "(between step_max '(1 3))", "(BETWEEN step_max \"1\" 3)"],
        expected: .between(column: "step_max", low: .integer(1), high: .integer(3))),
    BothSyntaxes(
        json: #"{"between":{"created":["2024-01-01","2024-01-02T00:00:00Z"]}}"#,
        sexprs: [#"(between created "2024-01-01" "2024-01-02T00:00:00Z")"#],
        expected: .between(column: "created", low: .timestamp(jan1), high: ts("2024-01-02T00:00:00Z"))),
    BothSyntaxes(
        json: #"{"isnull":{"summary":null}}"#,
        sexprs: ["(isnull summary)", #"(ISNULL "summary")"#],
        expected: .isNull(column: "summary"), onCluster: true),
    BothSyntaxes(
        json: #"{"or":[{"like":{"name":"test%"}},{"isnull":{"summary":null}}]}"#,
        sexprs: [#"(or (like name "test%") (isnull summary))"#],
        expected: .or([.compare(column: "name", op: .like, value: .text("test%")), .isNull(column: "summary")]),
        onCluster: true),
    BothSyntaxes(
        json: #"{"ge":{"priority":-1}}"#,
        sexprs: ["(ge priority -1)", "(gte priority \"-1\")"],
        expected: .compare(column: "priority", op: .ge, value: .integer(-1))),
    BothSyntaxes(
        json: #"{"lte":{"created":"2024-01-01 00:00:00"}}"#,
        sexprs: [#"(le created "2024-01-01 00:00:00")"#, "(lte created 1704067200)"],
        expected: .compare(column: "created", op: .le, value: .timestamp(jan1))),
    BothSyntaxes(
        json: #"{"lt":{"id":10}}"#,
        sexprs: ["(lt id 10)", "(lt id 10.0)", "(lt \"id\" \"10\")"],
        expected: .compare(column: "id", op: .lt, value: .integer(10)), onCluster: true),
    BothSyntaxes(
        json: #"{"and":{"eq":{"name":"x"}}}"#,
        sexprs: [#"(and (eq name "x"))"#],
        expected: .and([.compare(column: "name", op: .eq, value: .text("x"))])),
    BothSyntaxes(
        json: #"{"or":{"eq":{"name":"x"}}}"#,
        sexprs: [#"(or (eq name "x"))"#],
        expected: .or([.compare(column: "name", op: .eq, value: .text("x"))])),
    BothSyntaxes(
        json: #"{"eq":{"uuid":"0a1b2c"}}"#,
        sexprs: ["(eq uuid 0a1b2c)", "(eq uuid 0a1b2c) ; unquoted hex uuid is one symbol"],
        expected: .compare(column: "uuid", op: .eq, value: .text("0a1b2c"))),
    BothSyntaxes(
        json: #"{"eq":{"name":"true"}}"#,
        sexprs: ["(eq name true)"],
        expected: .compare(column: "name", op: .eq, value: .text("true"))),
]

@Suite("q: both syntaxes")
struct BothSyntaxTests {
    @Test("JSON and s-expression give the same tree", arguments: bothSyntaxCases)
    func sameTree(_ c: BothSyntaxes) {
        let parser = c.onCluster ? cluster : service
        #expect(condition(c.json, parser) == c.expected)
        for s in c.sexprs {
            #expect(condition(s, parser) == c.expected, "s-expression \(s)")
        }
    }

    @Test func absentOrBlankIsNoCondition() throws {
        #expect(try service.parseCondition(nil) == nil)
        #expect(try service.parseCondition("") == nil)
        #expect(try service.parseCondition("  \n\t ") == nil)
        #expect(try service.parse(q: " ", o: nil, p: nil) == ListQuery())
    }

    @Test func surroundingWhitespaceIsIgnored() {
        let expected = Condition.compare(column: "name", op: .eq, value: .text("a"))
        #expect(condition("  \n{\"eq\":{\"name\":\"a\"}}\n ") == expected)
        #expect(condition("\t (eq name \"a\")  ") == expected)
    }

    @Test func operatorAliasesAndCase() {
        let v = QueryValue.integer(3)
        for (key, op) in [
            ("eq", ComparisonOperator.eq), ("EQ", .eq), ("Equal", .eq), ("gt", .gt), ("GT", .gt), ("lt", .lt),
            ("ge", .ge), ("gte", .ge), ("GTE", .ge), ("le", .le), ("lte", .le), ("LtE", .le),
        ] {
            let expected = Condition.compare(column: "step_max", op: op, value: v)
            #expect(condition("{\"\(key)\":{\"step_max\":3}}") == expected, "json \(key)")
            #expect(condition("(\(key) step_max 3)") == expected, "sexpr \(key)")
        }
    }

    @Test func isnullReadmeForm() {
        #expect(condition(#"{"isnull":"summary"}"#, cluster) == .isNull(column: "summary"))
        #expect(condition(#"{"ISNULL":{"summary":1}}"#, cluster) == .isNull(column: "summary"))
        #expect(condition(#"{"isnull":{"summary":{"anything":[1,2]}}}"#, cluster) == .isNull(column: "summary"))
    }

    @Test func nullValues() {
        #expect(condition(#"{"eq":{"step_max":null}}"#) == .compare(column: "step_max", op: .eq, value: .null))
        #expect(condition(#"{"gt":{"created":null}}"#) == .compare(column: "created", op: .gt, value: .null))
        #expect(condition(#"{"in":{"step_max":[1,null]}}"#) == .inList(column: "step_max", values: [.integer(1), .null]))
        #expect(condition(#"{"in":{"name":null}}"#) == .inList(column: "name", values: [.null]))
    }

    @Test func sqlLookingValuesAreJustValues() {
        #expect(
            condition(#"{"eq":{"name":"x' OR '1'='1"}}"#)
                == .compare(column: "name", op: .eq, value: .text("x' OR '1'='1")))
        #expect(
            condition(#"(eq name "x'); DROP TABLE service;--")"#)
                == .compare(column: "name", op: .eq, value: .text("x'); DROP TABLE service;--")))
    }

    @Test func jsonStringEscapesAreDecoded() {
        #expect(
            condition(#"{"eq":{"name":"a\"b\\c\u00e9\ud83d\ude00\n"}}"#)
                == .compare(column: "name", op: .eq, value: .text("a\"b\\c\u{e9}\u{1F600}\n")))
    }

    @Test func largeValidInList() {
        let values = (0..<1000).map(String.init).joined(separator: ",")
        let c = condition("{\"in\":{\"priority\":[\(values)]}}")
        #expect(c == .inList(column: "priority", values: (0..<1000).map { .integer(Int64($0)) }))
        let s = condition("(in priority \((0..<1000).map(String.init).joined(separator: " ")))")
        #expect(s == c)
    }

    @Test func maximumDepthIsAccepted() {
        #expect(condition(jsonNots(depth: 32)) == nots(depth: 32))
        #expect(condition(sexprNots(depth: 32)) == nots(depth: 32))
        let andChain = String(repeating: #"{"and":["#, count: 31) + #"{"eq":{"name":"x"}}"# + String(repeating: "]}", count: 31)
        var expected = Condition.compare(column: "name", op: .eq, value: .text("x"))
        for _ in 0..<31 { expected = .and([expected]) }
        #expect(condition(andChain) == expected)
    }
}

@Suite("q: JSON errors")
struct JSONConditionErrorTests {
    @Test func severalOperatorsInOneObject() {
        expectBadRequest(
            q: #"{"eq":{"name":"a"},"gt":{"step_max":1}}"#, mentions: ["exactly one operator per object", #""eq""#, #""gt""#])
        expectBadRequest(q: #"{"eq":{"name":"a"},"eq":{"name":"b"}}"#, mentions: ["exactly one operator per object"])
        expectBadRequest(q: #"{"and":[{"eq":{"name":"a"},"lt":{"priority":1}}]}"#, mentions: ["exactly one operator per object"])
    }

    @Test func severalColumnsInOneComparison() {
        expectBadRequest(
            q: #"{"eq":{"name":"a","uuid":"b"}}"#, mentions: ["exactly one column per comparison", #""name""#, #""uuid""#])
        expectBadRequest(q: #"{"in":{"name":["a"],"uuid":["b"]}}"#, mentions: ["exactly one column per comparison"])
        expectBadRequest(q: #"{"eq":{}}"#, mentions: ["operator eq", "empty object"])
    }

    @Test func unknownOperator() {
        expectBadRequest(q: #"{"foo":{"name":"a"}}"#, mentions: [#"unknown operator "foo""#, "supported operators", "between"])
        expectBadRequest(q: #"{"ne":{"name":"a"}}"#, mentions: [#"unknown operator "ne""#])
        expectBadRequest(q: #"{"not":{"regexp":{"name":"a"}}}"#, mentions: [#"unknown operator "regexp""#])
    }

    @Test func emptyAndOr() {
        expectBadRequest(q: #"{"and":[]}"#, mentions: ["operator and", "at least one condition"])
        expectBadRequest(q: #"{"OR":[]}"#, mentions: ["operator or", "at least one condition"])
        expectBadRequest(q: #"{"and":"x"}"#, mentions: ["operator and", "got a string"])
        expectBadRequest(q: #"{"or":[{"eq":{"name":"a"}}, 5]}"#, mentions: ["condition object", "got a number"])
    }

    @Test func notOperand() {
        expectBadRequest(
            q: #"{"not":[{"eq":{"name":"a"}}]}"#, mentions: ["operator not", "one condition object", "got an array"])
        expectBadRequest(q: #"{"not":null}"#, mentions: ["operator not", "got null"])
        expectBadRequest(q: #"{"not":{}}"#, mentions: ["empty condition object"])
    }

    @Test func emptyObjectAndNonObjects() {
        expectBadRequest(q: "{}", mentions: ["parameter q", "empty condition object"])
        expectBadRequest(q: #"[{"eq":{"name":"a"}}]"#, mentions: ["parameter q", "JSON object", "got an array"])
        expectBadRequest(q: #""name""#, mentions: ["JSON object", "got a string"])
        expectBadRequest(q: "42", mentions: ["JSON object", "got a number"])
        expectBadRequest(q: "null", mentions: ["JSON object", "got null"])
    }

    @Test func inErrors() {
        expectBadRequest(q: #"{"in":{"uuid":[]}}"#, mentions: ["operator in", #""uuid""#, "at least one value"])
        expectBadRequest(q: #"{"in":{"uuid":[["a"]]}}"#, mentions: ["operator in", #""uuid""#, "got an array"])
        expectBadRequest(q: #"{"in":{"uuid":{"a":1}}}"#, mentions: ["got an object"])
        expectBadRequest(q: #"{"in":["uuid","a"]}"#, mentions: ["operator in expects an object"])
    }

    @Test func betweenErrors() {
        expectBadRequest(
            q: #"{"between":{"step_max":[1]}}"#, mentions: ["between", #""step_max""#, "exactly two values", "got 1"])
        expectBadRequest(q: #"{"between":{"step_max":[1,2,3]}}"#, mentions: ["exactly two values", "got 3"])
        expectBadRequest(q: #"{"between":{"step_max":[]}}"#, mentions: ["exactly two values", "got 0"])
        expectBadRequest(q: #"{"between":{"step_max":5}}"#, mentions: ["between", #""step_max""#, "expects an array"])
        expectBadRequest(q: #"{"between":{"step_max":[1,[2]]}}"#, mentions: ["got an array"])
        expectBadRequest(q: #"{"between":{"step_max":["a",3]}}"#, mentions: [#"column "step_max" expects an integer, got "a""#])
    }

    @Test func nestedValues() {
        expectBadRequest(q: #"{"eq":{"name":["a"]}}"#, mentions: ["operator eq", #""name""#, "got an array"])
        expectBadRequest(q: #"{"gt":{"name":{"x":1}}}"#, mentions: ["operator gt", "got an object"])
        expectBadRequest(q: #"{"like":{"name":["a%"]}}"#, mentions: ["operator like", "got an array"])
    }

    @Test func likeRestrictions() {
        expectBadRequest(q: #"{"like":{"step_max":"1%"}}"#, mentions: ["like", "text columns", #""step_max""#, "integer"])
        expectBadRequest(q: #"{"like":{"created":"2024%"}}"#, mentions: ["like", #""created""#, "timestamp"])
        expectBadRequest(q: #"{"like":{"name":5}}"#, mentions: ["like", #""name""#, "string pattern", "got 5"])
        expectBadRequest(q: #"{"like":{"name":null}}"#, mentions: ["string pattern", "got null"])
        expectBadRequest(q: #"{"like":{"name":true}}"#, mentions: ["string pattern", "got true"])
    }

    @Test("a like pattern ending in an unpaired escape character is a 400 naming the column; escaped ones parse")
    func likeDanglingEscape() throws {
        for pattern in [#"a\\"#, #"\\"#, #"a\\\\\\"#] {
            expectBadRequest(
                q: #"{"like":{"name":"\#(pattern)"}}"#, mentions: ["operator like", #""name""#, "unpaired escape character"])
        }
        for pattern in [#"a\\\\"#, #"a\\%b"#, ""] {
            let parsed = try service.parse(q: #"{"like":{"name":"\#(pattern)"}}"#, o: nil, p: nil)
            #expect(parsed.condition != nil, "pattern \(pattern)")
        }
    }

    @Test func isnullErrors() {
        expectBadRequest(cluster, q: #"{"isnull":5}"#, mentions: ["isnull", "got a number"])
        expectBadRequest(cluster, q: #"{"isnull":{}}"#, mentions: ["isnull", "empty object"])
        expectBadRequest(cluster, q: #"{"isnull":{"summary":null,"name":null}}"#, mentions: ["exactly one column"])
        expectBadRequest(cluster, q: #"{"isnull":"nope"}"#, mentions: [#"unknown column "nope""#])
    }

    @Test func unknownColumnListsAllowedColumns() {
        let e = expectBadRequest(
            q: #"{"eq":{"nope":1}}"#,
            mentions: [#"unknown column "nope""#, #"table "service""#, "cluster_uuid, uuid, name, step_max, priority, created"])
        #expect(e?.message.hasPrefix("parameter q: ") == true)
        expectBadRequest(
            cluster, q: #"{"and":[{"eq":{"name":"a"}},{"in":{"step_max":[1]}}]}"#,
            mentions: [#"unknown column "step_max""#, #"table "cluster""#, "id, uuid, name, summary, created, updated"])
        expectBadRequest(q: #"{"isnull":{"Name":null}}"#, mentions: [#"unknown column "Name""#])
        expectBadRequest(q: #"{"between":{"nope":5}}"#, mentions: [#"unknown column "nope""#])
    }

    @Test func invalidJSON() {
        expectBadRequest(q: #"{"eq":"#, mentions: ["parameter q", "invalid JSON", "end of input"])
        expectBadRequest(q: #"{"eq":{"name":"a"}} x"#, mentions: ["invalid JSON", "after the JSON value"])
        expectBadRequest(q: #"{eq:{"name":"a"}}"#, mentions: ["invalid JSON", "expected a string key"])
        expectBadRequest(q: #"{"eq":{"name":'a'}}"#, mentions: ["invalid JSON"])
        expectBadRequest(q: #"{"eq":{"step_max":01}}"#, mentions: ["invalid JSON", "leading zeros"])
        expectBadRequest(q: #"{"eq":{"name":"a\x"}}"#, mentions: ["invalid JSON", "escape"])
        expectBadRequest(q: #"{"eq":{"name":"\ud800"}}"#, mentions: ["invalid JSON", "surrogate"])
        expectBadRequest(q: "{\"eq\":{\"name\":\"a\u{1}\"}}", mentions: ["invalid JSON", "control character"])
        expectBadRequest(q: #"{"eq":{"name":tru}}"#, mentions: ["invalid JSON", "true"])
        expectBadRequest(q: #"{"eq":{"name":"a",}}"#, mentions: ["invalid JSON"])
        expectBadRequest(q: #"'(eq name "a")"#, mentions: ["invalid JSON"])
    }

    @Test func tooDeep() {
        expectBadRequest(q: jsonNots(depth: 33), mentions: ["parameter q", "nested deeper than 32"])
        let andChain = String(repeating: #"{"and":["#, count: 32) + #"{"eq":{"name":"x"}}"# + String(repeating: "]}", count: 32)
        expectBadRequest(q: andChain, mentions: ["nested deeper than 32"])
        // Raw JSON nesting far beyond any sensible depth is refused by the parser itself.
        let arrays = String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000)
        expectBadRequest(q: #"{"and":"# + arrays + "}", mentions: ["invalid JSON", "nesting deeper than 128"])
    }

    @Test func tooManyInValues() {
        let values = (0...1000).map(String.init).joined(separator: ",")
        expectBadRequest(
            q: "{\"in\":{\"priority\":[\(values)]}}", mentions: ["operator in", #""priority""#, "1001 values", "at most 1000"])
    }
}

@Suite("q: s-expression")
struct SExpressionTests {
    @Test func lastFormIsTheCondition() {
        #expect(condition(#"(eq name "a") (eq name "b")"#) == .compare(column: "name", op: .eq, value: .text("b")))
        #expect(
            condition("(eq name \"a\")\n; a comment\n(eq uuid b) ; trailing")
                == .compare(column: "uuid", op: .eq, value: .text("b")))
    }

    @Test func everyFormMustBeValid() {
        expectBadRequest(q: #"(define x 1) (eq name "a")"#, mentions: ["unsupported form (define"])
        expectBadRequest(q: #"(eq name "a") (define x 1)"#, mentions: ["unsupported form (define"])
        expectBadRequest(q: #"(eq nope "a") (eq name "a")"#, mentions: [#"unknown column "nope""#])
        expectBadRequest(q: #"(eq name "a") foo"#, mentions: ["expected a condition form", #"symbol "foo""#])
        expectBadRequest(q: #"(eq name "a") "foo""#, mentions: ["expected a condition form", #"string "foo""#])
        expectBadRequest(q: #"(eq name "a") 42"#, mentions: ["expected a condition form", "number 42"])
    }

    @Test func commentsAndWhitespace() {
        let q = "(and ; first\n  (eq name \"a\") ; second\n\t(gt step_max 2))"
        #expect(
            condition(q)
                == .and([
                    .compare(column: "name", op: .eq, value: .text("a")),
                    .compare(column: "step_max", op: .gt, value: .integer(2)),
                ]))
        #expect(condition("(eq name \"a;b\")") == .compare(column: "name", op: .eq, value: .text("a;b")))
        #expect(condition("(eq name \"a\nb\")") == .compare(column: "name", op: .eq, value: .text("a\nb")))
    }

    @Test func stringsAreVerbatim() {
        #expect(condition(#"(eq name "a\"b")"#) == .compare(column: "name", op: .eq, value: .text(#"a\"b"#)))
        #expect(condition(#"(eq name "a\\b")"#) == .compare(column: "name", op: .eq, value: .text(#"a\\b"#)))
        #expect(condition(#"(eq name "a\nb")"#) == .compare(column: "name", op: .eq, value: .text(#"a\nb"#)))
        #expect(condition(#"(eq name "(x) 'y'")"#) == .compare(column: "name", op: .eq, value: .text("(x) 'y'")))
        #expect(condition(#"(eq name "ünï cödé 😀")"#) == .compare(column: "name", op: .eq, value: .text("ünï cödé 😀")))
        #expect(condition(#"(eq name "")"#) == .compare(column: "name", op: .eq, value: .text("")))
    }

    @Test func atomsAndNumbers() {
        // A token starting with digits and continuing with letters is one symbol.
        #expect(condition("(eq uuid 12ab)") == .compare(column: "uuid", op: .eq, value: .text("12ab")))
        #expect(condition("(eq uuid 1.2.3)") == .compare(column: "uuid", op: .eq, value: .text("1.2.3")))
        #expect(condition("(eq uuid 1e5)") == .compare(column: "uuid", op: .eq, value: .text("1e5")))
        // Numbers keep their literal text on text columns.
        #expect(condition("(eq name 1.50)") == .compare(column: "name", op: .eq, value: .text("1.50")))
        #expect(condition("(eq name .5)") == .compare(column: "name", op: .eq, value: .text(".5")))
        #expect(condition("(eq name 007)") == .compare(column: "name", op: .eq, value: .text("007")))
        // On integer columns they are numbers.
        #expect(condition("(eq step_max 007)") == .compare(column: "step_max", op: .eq, value: .integer(7)))
        #expect(condition("(eq step_max -1)") == .compare(column: "step_max", op: .eq, value: .integer(-1)))
        #expect(condition("(eq step_max +4)") == .compare(column: "step_max", op: .eq, value: .integer(4)))
        // A number on a timestamp column is Unix seconds; a symbol is a string.
        #expect(
            condition("(eq created 1704067200.5)")
                == .compare(column: "created", op: .eq, value: .timestamp(Timestamp(microseconds: 1_704_067_200_500_000))))
        #expect(condition("(eq created 2024-01-01T00:00:00Z)") == .compare(column: "created", op: .eq, value: .timestamp(jan1)))
        #expect(condition("(eq name false)") == .compare(column: "name", op: .eq, value: .text("false")))
        #expect(condition("(eq name null)") == .compare(column: "name", op: .eq, value: .text("null")))
    }

    @Test func adjacentTokensWithoutSpaces() {
        #expect(
            condition(#"(and(eq name"a")(eq uuid 'b))"#)
                == .and([
                    .compare(column: "name", op: .eq, value: .text("a")),
                    .compare(column: "uuid", op: .eq, value: .text("b")),
                ]))
    }

    @Test func unsupportedForms() {
        for q in [
            "(define x 1)", "(set! x 1)", "(lambda (x) x)", #"(if (eq name "a") (eq name "b") (eq name "c"))"#,
            #"(begin (eq name "a"))"#, #"(quote (eq name "a"))"#, #"(ne name "a")"#, "(car '(1 2))",
        ] {
            expectBadRequest(q: q, mentions: ["parameter q", "unsupported form", "supported operators"])
        }
        expectBadRequest(q: #"(DEFINE x 1)"#, mentions: ["unsupported form (DEFINE"])
        expectBadRequest(q: #"((eq name "a"))"#, mentions: ["must start with an operator name", "form (eq"])
        expectBadRequest(q: #"("eq" name "a")"#, mentions: ["must start with an operator name", #"string "eq""#])
        expectBadRequest(q: "(1 2)", mentions: ["must start with an operator name", "number 1"])
        expectBadRequest(q: "()", mentions: ["empty form"])
    }

    @Test func unbalanced() {
        expectBadRequest(q: #"(eq name "a""#, mentions: ["invalid s-expression", "unbalanced parentheses", "never closed"])
        expectBadRequest(q: #"(and (eq name "a")"#, mentions: ["unbalanced parentheses"])
        expectBadRequest(q: #"(eq name "a"))"#, mentions: ["unbalanced parentheses", "unexpected ')'", "offset 13"])
        expectBadRequest(q: #"(eq name "a)"#, mentions: ["unterminated string", "offset 9"])
        expectBadRequest(q: #"(eq name "a\")"#, mentions: ["unterminated string"])
        expectBadRequest(q: "(in uuid ')", mentions: ["quote", "must be followed by a form"])
        expectBadRequest(q: "(in uuid '", mentions: ["quote", "must be followed by a form"])
    }

    @Test func arity() {
        expectBadRequest(q: "(eq name)", mentions: ["operator eq expects 2 arguments", "got 1"])
        expectBadRequest(q: #"(eq name "a" "b")"#, mentions: ["operator eq expects 2 arguments", "got 3"])
        expectBadRequest(q: "(LIKE)", mentions: ["operator like expects 2 arguments", "got 0"])
        expectBadRequest(q: "(not)", mentions: ["operator not", "exactly 1", "got 0"])
        expectBadRequest(q: #"(not (eq name "a") (eq name "b"))"#, mentions: ["operator not", "got 2"])
        expectBadRequest(q: "(and)", mentions: ["operator and", "at least one"])
        expectBadRequest(q: "(or)", mentions: ["operator or", "at least one"])
        expectBadRequest(cluster, q: "(isnull)", mentions: ["operator isnull expects 1 argument", "got 0"])
        expectBadRequest(cluster, q: "(isnull summary name)", mentions: ["operator isnull", "got 2"])
        expectBadRequest(q: "(in)", mentions: ["operator in", "no arguments"])
        expectBadRequest(q: "(in uuid)", mentions: ["operator in", #""uuid""#, "at least one value"])
        expectBadRequest(q: "(in uuid '())", mentions: ["at least one value"])
        expectBadRequest(q: "(between)", mentions: ["operator between", "no arguments"])
        expectBadRequest(q: "(between step_max 1)", mentions: ["between", #""step_max""#, "exactly two values", "got 1"])
        expectBadRequest(q: "(between step_max 1 2 3)", mentions: ["exactly two values", "got 3"])
        expectBadRequest(q: "(between step_max '(1 2 3))", mentions: ["exactly two values", "got 3"])
        expectBadRequest(q: "(between step_max '(1))", mentions: ["exactly two values", "got 1"])
    }

    @Test func badArguments() {
        expectBadRequest(q: #"(eq (name) "a")"#, mentions: ["column name", "got form (name"])
        expectBadRequest(q: #"(eq 5 "a")"#, mentions: ["column name", "number 5"])
        expectBadRequest(q: #"(eq name (eq name "a"))"#, mentions: ["a value must be a string, number or symbol", "form (eq"])
        expectBadRequest(q: "(in uuid '(a (b)))", mentions: ["a value must be", "got form (b"])
        expectBadRequest(q: "(in uuid '(a ()))", mentions: ["a value must be", "got a list"])
        expectBadRequest(q: "(in uuid '(a b) c)", mentions: ["a value must be"])
        expectBadRequest(q: "(and name)", mentions: ["expected a condition form", #"symbol "name""#])
        expectBadRequest(q: "(not 5)", mentions: ["expected a condition form", "number 5"])
        expectBadRequest(q: "(like name 5)", mentions: ["like", "string pattern", "got 5"])
        expectBadRequest(q: "(like step_max a%)", mentions: ["like", "text columns", #""step_max""#])
        expectBadRequest(
            q: "(eq nope 1)", mentions: [#"unknown column "nope""#, #"table "service""#, "cluster_uuid, uuid, name"])
        expectBadRequest(q: #"(eq "Name" 1)"#, mentions: [#"unknown column "Name""#])
    }

    @Test func tooDeep() {
        expectBadRequest(q: sexprNots(depth: 33), mentions: ["parameter q", "nested deeper than 32"])
        let ands = String(repeating: "(and ", count: 40) + #"(eq name "x")"# + String(repeating: ")", count: 40)
        expectBadRequest(q: ands, mentions: ["nested deeper than 32"])
        let parens = String(repeating: "(", count: 4000) + String(repeating: ")", count: 4000)
        expectBadRequest(q: parens, mentions: ["invalid s-expression", "nesting deeper than 128"])
        let quotes = "(in uuid " + String(repeating: "'", count: 4000) + "x)"
        expectBadRequest(q: quotes, mentions: ["nesting deeper than 128"])
    }

    @Test func tooManyInValues() {
        expectBadRequest(
            q: "(in priority \((0...1000).map(String.init).joined(separator: " ")))", mentions: ["1001 values", "at most 1000"])
        expectBadRequest(q: "(in priority '(\((0...1000).map(String.init).joined(separator: " "))))", mentions: ["1001 values"])
    }
}
