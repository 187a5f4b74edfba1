import ClaiflowCore
import Testing

@testable import ClaiflowQuery

/// Hostile input: injected column names, huge and deeply nested parameters.
@Suite("hostile input")
struct SecurityTests {
    static let maliciousColumns = [
        "name`; DROP TABLE x;--",
        "name\" OR 1=1",
        "name' OR '1'='1",
        "name; DELETE FROM service",
        "name)--",
        "name /*",
        " name",
        "name ",
        "NAME",
        "service.name",
        "\"name\"",
        "name\u{0}",
        "",
    ]

    @Test("malicious column names are unknown columns", arguments: maliciousColumns)
    func maliciousColumnInJSON(_ column: String) {
        let key = jsonString(column)
        let e = expectBadRequest(q: "{\"eq\":{\(key):\"x\"}}", mentions: ["unknown column", "allowed columns: cluster_uuid"])
        #expect(e?.message.contains(quotedForMessage(column)) == true, "\(e?.message ?? "")")
        expectBadRequest(q: "{\"isnull\":\(key)}", mentions: ["unknown column"])
        expectBadRequest(q: "{\"in\":{\(key):[1]}}", mentions: ["unknown column"])
        expectBadRequest(o: "{\"asc\":\(key)}", mentions: ["parameter o", "unknown column"])
        expectBadRequest(o: "{\"desc\":[\"name\",\(key)]}", mentions: ["unknown column"])
    }

    @Test func maliciousColumnsInSExpression() {
        expectBadRequest(q: #"(eq "name`; DROP TABLE x;--" "a")"#, mentions: ["unknown column", "DROP TABLE"])
        // Escapes are not decoded, so this column is `name\" OR 1=1`.
        expectBadRequest(q: #"(eq "name\" OR 1=1" "a")"#, mentions: ["unknown column"])
        expectBadRequest(q: "(eq name`DROP \"a\")", mentions: ["unknown column", "name`DROP"])
        expectBadRequest(q: #"(isnull "name' OR '1'='1")"#, mentions: ["unknown column"])
    }

    @Test func sqlInOperatorPosition() {
        expectBadRequest(q: #"{"eq); DROP TABLE x;--":{"name":"a"}}"#, mentions: ["unknown operator"])
        // `;` starts a comment, so the rest of the line is ignored.
        expectBadRequest(q: #"(eq;DROP name "a")"#, mentions: ["unbalanced parentheses"])
        expectBadRequest(q: #"(|eq| name "a")"#, mentions: ["unsupported form"])
    }

    @Test func tooLongParameters() {
        let filler = String(repeating: "a", count: 9000)
        let q = "{\"eq\":{\"name\":\"\(filler)\"}}"
        expectBadRequest(q: q, mentions: ["parameter q", "too long", "at most 8192"])
        expectBadRequest(q: "(eq name \"\(filler)\")", mentions: ["parameter q", "too long"])
        expectBadRequest(
            o: "[" + Array(repeating: "[]", count: 5000).joined(separator: ",") + "]", mentions: ["parameter o", "too long"])
        expectBadRequest(
            p: "[" + Array(repeating: #"{"limit":1}"#, count: 1000).joined(separator: ",") + "]",
            mentions: ["parameter p", "too long"])
        // A megabyte is rejected just the same.
        expectBadRequest(q: String(repeating: "(", count: 1_000_000), mentions: ["too long"])
    }

    @Test func exactlyMaxLengthIsAccepted() {
        let prefix = #"{"eq":{"name":""#
        let suffix = #""}}"#
        let filler = String(repeating: "é", count: ListQueryParser.maxParameterLength - prefix.count - suffix.count)
        let q = prefix + filler + suffix
        #expect(q.unicodeScalars.count == 8192)
        #expect(condition(q) == .compare(column: "name", op: .eq, value: .text(filler)))
        expectBadRequest(q: prefix + filler + "x" + suffix, mentions: ["too long"])
    }

    @Test func combiningCharactersCountAsScalars() {
        // One grapheme cluster with thousands of combining marks must not sneak past the limit.
        let q = #"{"eq":{"name":"e"# + String(repeating: "\u{301}", count: 9000) + #""}}"#
        #expect(q.count < 100)
        expectBadRequest(q: q, mentions: ["too long"])
    }

    @Test func deepNestingEverywhere() {
        let arrays = String(repeating: "[", count: 4000) + String(repeating: "]", count: 4000)
        expectBadRequest(q: "{\"in\":{\"name\":\(arrays)}}", mentions: ["nesting deeper than 128"])
        expectBadRequest(o: arrays, mentions: ["parameter o", "nesting deeper than 128"])
        expectBadRequest(p: arrays, mentions: ["parameter p", "nesting deeper than 128"])
        let objects = String(repeating: #"{"a":"#, count: 1000) + "1" + String(repeating: "}", count: 1000)
        expectBadRequest(q: objects, mentions: ["nesting deeper than 128"])
        let ors = String(repeating: "(or ", count: 1500) + String(repeating: ")", count: 1500)
        expectBadRequest(q: ors, mentions: ["nesting deeper than 128"])
    }

    @Test func errorMessagesStayShort() {
        let longColumn = String(repeating: "x", count: 5000)
        let e = expectBadRequest(q: "{\"eq\":{\"\(longColumn)\":1}}", mentions: ["unknown column", "…"])
        #expect((e?.message.count ?? 0) < 400)
        let e2 = expectBadRequest(q: "{\"eq\":{\"step_max\":\"\(longColumn)\"}}", mentions: ["expects an integer"])
        #expect((e2?.message.count ?? 0) < 400)
    }

    @Test func controlCharactersAreEscapedInMessages() {
        let e = expectBadRequest(q: #"{"eq":{"na\nme\u0000":1}}"#, mentions: ["unknown column"])
        #expect(e?.message.contains(#""na\nme\u{0}""#) == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("\n") == false)
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{0}": out += "\\u0000"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private func quotedForMessage(_ s: String) -> String {
        quoted(s)
    }
}
