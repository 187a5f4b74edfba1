import ClaiflowCore
import Foundation
import Testing

@testable import ClaiflowJQ

private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

/// The ClaiflowError thrown by `body`, or nil when it does not throw (another error type fails the test).
private func jqError(_ body: () throws -> Void) -> ClaiflowError? {
    do {
        try body()
        return nil
    } catch let error as ClaiflowError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite("JQProgram: compile")
struct JQCompileTests {
    @Test func compileErrorIsBadRequestWithJQMessage() {
        let error = jqError { _ = try JQProgram(filter: ".a-]") }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.hasPrefix("invalid jq filter: syntax error") == true)
        #expect(error?.message.contains("line 1") == true)
    }

    @Test func compileErrorLineNumbersReferToTheUsersText() {
        let error = jqError { _ = try JQProgram(filter: ".a |\n.b | ]") }
        #expect(error?.message.contains("line 2") == true)
        let unsandboxed = jqError { _ = try JQProgram(filter: ".a |\n.b | ]", allowEnvironment: true) }
        #expect(unsandboxed?.message.contains("line 2") == true)
    }

    @Test func undefinedFunctionIsACompileError() {
        let error = jqError { _ = try JQProgram(filter: ".a | nosuchfunction") }
        #expect(error?.message.contains("nosuchfunction/0 is not defined") == true)
    }

    @Test func modulesNeverLoadFiles() {
        let error = jqError { _ = try JQProgram(filter: "include \"/etc/passwd\"; .", allowEnvironment: true) }
        #expect(error?.message.contains("module not found") == true)
        let sandboxed = jqError { _ = try JQProgram(filter: "import \"foo\" as f; .") }
        #expect(sandboxed?.kind == .invalidArgument)
        let meta = jqError { _ = try JQProgram(filter: "modulemeta", allowEnvironment: true).run(.string("x")) }
        #expect(meta?.message.contains("module not found") == true)
    }

    @Test func emptyFilterIsIdentity() throws {
        #expect(try JQProgram(filter: "").run(.integer(3)) == [.integer(3)])
        #expect(try JQProgram(filter: "  \n").run(.string("x")) == [.string("x")])
    }

    @Test func userDefinitionsWork() throws {
        let program = try JQProgram(filter: "def twice: . * 2; .n | twice")
        #expect(try program.run(json(#"{"n": 21}"#)) == [.integer(42)])
    }

    @Test func environmentIsHiddenUnlessAllowed() throws {
        #expect(try JQProgram(filter: "$ENV.PATH").run(.null) == [.null])
        #expect(try JQProgram(filter: "env | length").run(.null) == [.integer(0)])
        let open = try JQProgram(filter: "$ENV.PATH | type", allowEnvironment: true).run(.null)
        #expect(open == [.string("string")])
    }
}

@Suite("JQProgram: run")
struct JQRunTests {
    @Test func runtimeErrorCarriesJQMessage() throws {
        let program = try JQProgram(filter: ".a.b")
        let error = jqError { _ = try program.run(json(#"{"a": 1}"#)) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.hasPrefix("Cannot index number with") == true)
        // The state is reusable after an error.
        #expect(try program.run(json(#"{"a": {"b": 2}}"#)) == [.integer(2)])
    }

    @Test func errorWithNonStringValueIsRenderedAsJSON() throws {
        let error = jqError { _ = try JQProgram(filter: #"error({"a": 1})"#).run(.null) }
        #expect(error?.message == #"{"a":1}"#)
    }

    @Test func haltErrorIsAnErrorAndHaltIsAnEnd() throws {
        let error = jqError { _ = try JQProgram(filter: "halt_error(5)").run(.string("boom")) }
        #expect(error?.message == "boom")
        #expect(try JQProgram(filter: "1, halt, 2").run(.null) == [.integer(1)])
    }

    /// libjq 1.6 double-frees the halt message when a halted state is reset twice; the program
    /// must never reuse a halted state.
    @Test func haltedStatesAreNeverReused() throws {
        let program = try JQProgram(filter: #"if .halt then ({"why": .why} | halt_error(1)) else .why end"#)
        for round in 0..<50 {
            let why = JSONValue.string("round \(round) " + String(repeating: "x", count: round))
            let error = jqError { _ = try program.run(.object(["halt": .bool(true), "why": why])) }
            #expect(error?.message == JSONValue.object(["why": why]).serialized())
            for _ in 0..<3 {
                #expect(try program.run(.object(["halt": .bool(false), "why": why])) == [why])
            }
        }
    }

    @Test func multipleOutputsInOrder() throws {
        #expect(try JQProgram(filter: ".[] * 10").run(json("[1,2,3]")) == [.integer(10), .integer(20), .integer(30)])
        #expect(try JQProgram(filter: "range(5)").run(.null).count == 5)
        #expect(try JQProgram(filter: "empty").run(.null) == [])
    }

    @Test func firstStopsAfterTheFirstOutput() throws {
        let program = try JQProgram(filter: #"1, error("never reached")"#)
        #expect(try program.first(.null) == .integer(1))
        #expect(jqError { _ = try program.run(.null) }?.message == "never reached")
        #expect(try JQProgram(filter: "empty").first(.null) == nil)
    }

    @Test func conditionsOnPayloads() throws {
        let program = try JQProgram(filter: ".status >= 4")
        #expect(try program.first(json(#"{"status": 4}"#)) == .bool(true))
        #expect(try program.first(json(#"{"status": 2}"#)) == .bool(false))
    }
}

@Suite("JQProgram: values")
struct JQValueTests {
    private let identity: JQProgram

    init() throws { identity = try JQProgram(filter: ".") }

    @Test(arguments: [
        "null", "true", "false", "0", "-1", "42", "9007199254740992", "-9007199254740992", "0.1", "-2.5e-7", "1e300",
        #""""#, #""héllo wörld 🌍 日本""#, #""a\u0000b""#, #""line\nbreak\t\"quoted\" \\ back""#,
        "[]", "{}", #"[1, "two", [3], {"four": 4}, null, true]"#,
        #"{"a": {"b": {"c": [1, 2, {"d": "e"}]}}, "k-with/odd.chars": 1}"#,
    ])
    func roundTripIsExact(_ text: String) throws {
        let value = try json(text)
        #expect(try identity.run(value) == [value])
    }

    @Test func integersWithin2To53AreExact() throws {
        let limit: Int64 = 1 << 53
        for i in [limit, -limit, limit - 1, 123_456_789_012_345, Int64(Int32.max) + 1] {
            #expect(try identity.run(.integer(i)) == [.integer(i)])
        }
        #expect(try JQProgram(filter: ". + 1").run(.integer(41)) == [.integer(42)])
        #expect(try JQProgram(filter: ". / 2").run(.integer(5)) == [.number(2.5)])
    }

    @Test func integralDoublesComeBackAsIntegers() throws {
        #expect(try identity.run(.number(4.0)) == [.integer(4)])
        #expect(try JQProgram(filter: "pow(.; 2)").run(.integer(3)) == [.integer(9)])
    }

    @Test func nanAndInfinity() throws {
        #expect(try JQProgram(filter: "nan").run(.null) == [.null])
        #expect(try JQProgram(filter: "infinite").run(.null) == [.number(.greatestFiniteMagnitude)])
        #expect(try JQProgram(filter: "-infinite").run(.null) == [.number(-.greatestFiniteMagnitude)])
    }

    @Test func largeValues() throws {
        let big = JSONValue.array((0..<100_000).map { .integer(Int64($0)) })
        #expect(try JQProgram(filter: "length").run(big) == [.integer(100_000)])
        #expect(try identity.run(big) == [big])
        var object: [String: JSONValue] = [:]
        for i in 0..<10_000 { object["key\(i)"] = .string(String(repeating: "x", count: i % 50)) }
        #expect(try identity.run(.object(object)) == [.object(object)])
        let longString = JSONValue.string(String(repeating: "abc😀", count: 250_000))
        #expect(try identity.run(longString) == [longString])
    }

    @Test func deeplyNestedValues() throws {
        var value = JSONValue.string("leaf")
        for depth in 0..<300 {
            value = depth.isMultiple(of: 2) ? .array([value]) : .object(["k": value])
        }
        #expect(try identity.run(value) == [value])
        #expect(try JQProgram(filter: "[paths] | length").run(value) == [.integer(300)])
    }

    @Test func invalidUTF8FromJQIsReplacedNotCrashed() throws {
        // A lone surrogate code point and bytes that are not UTF-8 at all.
        let lone = try JQProgram(filter: "[55296, 97] | implode").run(.null)
        guard case .string(let s) = lone.first else {
            Issue.record("expected a string, got \(lone)")
            return
        }
        #expect(s.hasSuffix("a"))
        let bytes = try JQProgram(filter: "@base64d").run(.string("//79"))
        #expect(bytes.count == 1)
        if case .string = bytes.first {} else { Issue.record("expected a string, got \(bytes)") }
        // Escaped lone surrogates in the filter text are a compile error, not a crash.
        #expect(jqError { _ = try JQProgram(filter: #""\ud800x" | length"#) }?.message.contains("surrogate") == true)
    }
}

@Suite("JQProgram: concurrency and cache")
struct JQConcurrencyTests {
    @Test func manyTasksShareOneProgram() async throws {
        let program = try JQProgram(filter: ".items | map(.n * .n) | add")
        let results = try await withThrowingTaskGroup(of: (Int, JSONValue?).self) { group in
            for task in 0..<64 {
                group.addTask {
                    var last: JSONValue?
                    for round in 0..<50 {
                        let n = task * 100 + round
                        let input = JSONValue.object([
                            "items": .array([.object(["n": .integer(Int64(n))]), .object(["n": .integer(2)])])
                        ])
                        last = try program.first(input)
                        #expect(last == .integer(Int64(n * n + 4)))
                    }
                    return (task, last)
                }
            }
            var all: [Int: JSONValue?] = [:]
            for try await (task, last) in group { all[task] = last }
            return all
        }
        #expect(results.count == 64)
    }

    @Test func errorsUnderConcurrencyStayPerRun() async throws {
        let program = try JQProgram(filter: #"if .fail then error("bad \(.n)") else .n end"#)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<200 {
                group.addTask {
                    let input = JSONValue.object(["fail": .bool(n.isMultiple(of: 2)), "n": .integer(Int64(n))])
                    let error = jqError { _ = try program.run(input) }
                    if n.isMultiple(of: 2) {
                        #expect(error?.message == "bad \(n)")
                    } else {
                        #expect(error == nil)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func cacheReturnsTheSameProgramAndCachesErrors() throws {
        let cache = JQProgramCache(capacity: 2)
        let a = try cache.program(".a")
        #expect(try cache.program(".a") === a)
        #expect(jqError { _ = try cache.program(".a-]") }?.kind == .invalidArgument)
        #expect(cache.count == 2)
        _ = try cache.program(".b")
        #expect(cache.count == 2)
        #expect(try cache.program(".a") !== a)  // evicted, recompiled
    }
}
