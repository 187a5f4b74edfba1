import ClaiflowCore
import Testing

/// The cases follow kubectl (`k8s.io/apimachinery/pkg/labels`): what it parses, what it refuses
/// and what a selector matches.
@Suite("Label selector")
struct LabelSelectorTests {
    typealias R = LabelSelector.Requirement

    static func parse(_ text: String) throws -> [R] { try LabelSelector(parsing: text).requirements }

    static func error(_ text: String) -> String? {
        do {
            _ = try LabelSelector(parsing: text)
            return nil
        } catch {
            #expect(error.kind == .invalidArgument)
            return error.message
        }
    }

    @Test("every operator, with and without blanks")
    func operators() throws {
        #expect(try Self.parse("env=prod") == [R(key: "env", operator: .equals, values: ["prod"])])
        #expect(try Self.parse("env==prod") == [R(key: "env", operator: .equals, values: ["prod"])])
        #expect(try Self.parse("env!=prod") == [R(key: "env", operator: .notEquals, values: ["prod"])])
        #expect(try Self.parse("env in (a,b)") == [R(key: "env", operator: .in, values: ["a", "b"])])
        #expect(try Self.parse("env notin (b,a)") == [R(key: "env", operator: .notIn, values: ["a", "b"])])
        #expect(try Self.parse("env") == [R(key: "env", operator: .exists)])
        #expect(try Self.parse("!env") == [R(key: "env", operator: .doesNotExist)])
        #expect(
            try Self.parse("  env = prod ,\ttier in ( web , api ) , ! canary , example.com/x ")
                == [
                    R(key: "env", operator: .equals, values: ["prod"]), R(key: "tier", operator: .in, values: ["api", "web"]),
                    R(key: "canary", operator: .doesNotExist), R(key: "example.com/x", operator: .exists),
                ])
    }

    @Test("empty values as kubectl reads them: k=, k!=, (a,), (,a), (a,,b), ()")
    func emptyValues() throws {
        #expect(try Self.parse("k=") == [R(key: "k", operator: .equals, values: [""])])
        #expect(try Self.parse("k!=,j") == [R(key: "k", operator: .notEquals, values: [""]), R(key: "j", operator: .exists)])
        #expect(try Self.parse("k in (a,)") == [R(key: "k", operator: .in, values: ["", "a"])])
        #expect(try Self.parse("k in (,a)") == [R(key: "k", operator: .in, values: ["", "a"])])
        #expect(try Self.parse("k in (a,,b)") == [R(key: "k", operator: .in, values: ["", "a", "b"])])
        #expect(try Self.parse("k notin ()") == [R(key: "k", operator: .notIn, values: [""])])
        #expect(try Self.parse("k in (,)") == [R(key: "k", operator: .in, values: [""])])
        // kubectl's own example.
        #expect(
            try Self.parse("x in (foo,,baz),y,z notin ()") == [
                R(key: "x", operator: .in, values: ["", "baz", "foo"]), R(key: "y", operator: .exists),
                R(key: "z", operator: .notIn, values: [""]),
            ])
    }

    @Test("in and notin are keys and values where an operator cannot stand")
    func keywordsAsWords() throws {
        #expect(try Self.parse("in in (in,notin)") == [R(key: "in", operator: .in, values: ["in", "notin"])])
        #expect(try Self.parse("notin=in") == [R(key: "notin", operator: .equals, values: ["in"])])
        #expect(try Self.parse("!in") == [R(key: "in", operator: .doesNotExist)])
    }

    @Test("the empty selector matches everything")
    func empty() throws {
        #expect(try LabelSelector(parsing: "").isEmpty)
        #expect(try LabelSelector(parsing: " \t").isEmpty)
        #expect(try LabelSelector(parsing: "").matches(ClusterLabels()))
    }

    @Test(
        "malformed selectors name the position",
        arguments: [
            ("env=", nil),
            ("env in (a", "selector: expected ',' or ')' at position 10, found the end"),
            ("env in a", "selector: expected '(' at position 8, found 'a'"),
            ("env in (a b)", "selector: expected ',' or ')' at position 11, found 'b'"),
            ("env in (", "selector: expected a value, ',' or ')' at position 9, found the end"),
            ("a=b,", "selector: expected a label key or '!' after ',' at position 5, found the end"),
            (",a", "selector: expected a label key or '!' at position 1, found ','"),
            ("a=(", "selector: expected a value at position 3, found '('"),
            ("env prod", "selector: expected an operator (=, ==, !=, in, notin), ',' or the end at position 5, found 'prod'"),
            ("a=b c", "selector: expected ',' or the end at position 5, found 'c'"),
            ("!a=b", "selector: expected ',' or the end at position 3, found '='"),
            ("!!a", "selector: expected a label key after '!' at position 2, found '!'"),
            ("a>1", "selector: the operator '>' at position 2 is not supported; use =, ==, !=, in or notin"),
            ("a===b", "selector: expected a value at position 4, found '='"),
            ("(a)", "selector: expected a label key or '!' at position 1, found '('"),
        ] as [(String, String?)])
    func malformed(text: String, message: String?) {
        #expect(Self.error(text) == message)
    }

    @Test("bad keys and values are refused with their position")
    func badWords() throws {
        #expect(try #require(Self.error("a=b,-x=1")).hasPrefix("selector: invalid label key '-x' at position 5: "))
        #expect(try #require(Self.error("a=b,x=-1")).hasPrefix("selector: invalid value '-1' at position 7: "))
        #expect(try #require(Self.error("x in (a,b/c)")).hasPrefix("selector: invalid value 'b/c' at position 9: "))
        #expect(try #require(Self.error("Ex.com/a")).hasPrefix("selector: invalid label key 'Ex.com/a' at position 1: "))
        #expect(Self.error(String(repeating: "a", count: 4097))?.contains("at most 4096 characters") == true)
    }

    @Test("matching: != and notin also match clusters without the key")
    func matching() throws {
        let prod = try ClusterLabels(validating: ["env": "prod", "tier": "web"])
        let dev = try ClusterLabels(validating: ["env": "dev"])
        let none = ClusterLabels()
        let cases: [(String, [Bool])] = [
            ("env=prod", [true, false, false]),
            ("env==prod", [true, false, false]),
            ("env!=prod", [false, true, true]),
            ("env in (prod,dev)", [true, true, false]),
            ("env notin (prod)", [false, true, true]),
            ("tier", [true, false, false]),
            ("!tier", [false, true, true]),
            ("env,!tier", [false, true, false]),
            ("env=prod,tier=web", [true, false, false]),
            ("env=", [false, false, false]),
            ("tier notin ()", [true, true, true]),
        ]
        for (text, expected) in cases {
            let s = try LabelSelector(parsing: text)
            #expect([prod, dev, none].map(s.matches) == expected, "\(text)")
        }
    }

    @Test("the description parses back to the same selector")
    func description() throws {
        for text in ["env=prod", "a!=b", "k in (a,b)", "k notin (,x)", "k", "!k", "a=,b in (c),!d"] {
            let s = try LabelSelector(parsing: text)
            #expect(try LabelSelector(parsing: s.description) == s, "\(text) → \(s.description)")
        }
        #expect(try LabelSelector(parsing: " env == prod , x in (b,a)").description == "env=prod,x in (a,b)")
    }
}
