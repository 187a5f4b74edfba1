import ClaiflowCore
import Testing

@testable import ClaiflowQuery

/// `cluster`: id integer, uuid text, name text, summary text, created timestamp, updated timestamp.
let clusterSchema = TableSchema(
    name: "cluster",
    columns: [
        ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text),
        ("created", .timestamp), ("updated", .timestamp),
    ])

/// `service`: cluster_uuid text, uuid text, name text, step_max integer, priority integer,
/// created timestamp.
let serviceSchema = TableSchema(
    name: "service",
    columns: [
        ("cluster_uuid", .text), ("uuid", .text), ("name", .text), ("step_max", .integer),
        ("priority", .integer), ("created", .timestamp),
    ])

let cluster = ListQueryParser(schema: clusterSchema)
let service = ListQueryParser(schema: serviceSchema)

/// 2024-01-01T00:00:00Z.
let jan1 = Timestamp(microseconds: 1_704_067_200 * 1_000_000)

func ts(_ text: String) -> QueryValue {
    guard let t = Timestamp(parsing: text) else {
        Issue.record("bad timestamp literal in test: \(text)")
        return .null
    }
    return .timestamp(t)
}

/// Parses `q` with a parser, recording an issue (and returning nil) when it throws.
func condition(_ q: String, _ parser: ListQueryParser = service, sourceLocation: SourceLocation = #_sourceLocation) -> Condition?
{
    do {
        let c = try parser.parseCondition(q)
        #expect(c != nil, "no condition for \(q)", sourceLocation: sourceLocation)
        return c
    } catch {
        Issue.record("unexpected error for q=\(q): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects `parse(q:o:p:)` to throw a 400 whose message contains every string in `mentions`.
@discardableResult
func expectBadRequest(
    _ parser: ListQueryParser = service, q: String? = nil, o: String? = nil, p: String? = nil,
    mentions: [String], sourceLocation: SourceLocation = #_sourceLocation
) -> ClaiflowError? {
    do {
        let result = try parser.parse(q: q, o: o, p: p)
        Issue.record(
            "expected a 400 for q=\(q ?? "nil") o=\(o ?? "nil") p=\(p ?? "nil"), got \(result)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.kind == .invalidArgument, "kind \(error.kind) for \(error.message)", sourceLocation: sourceLocation)
        for m in mentions {
            #expect(error.message.contains(m), "message \(error.message) does not mention \(m)", sourceLocation: sourceLocation)
        }
        return error
    }
}

/// A nested JSON `not` chain of the given condition depth around `{"eq":{"name":"x"}}`.
func jsonNots(depth: Int) -> String {
    String(repeating: #"{"not":"#, count: depth - 1) + #"{"eq":{"name":"x"}}"# + String(repeating: "}", count: depth - 1)
}

/// A nested s-expression `not` chain of the given condition depth around `(eq name "x")`.
func sexprNots(depth: Int) -> String {
    String(repeating: "(not ", count: depth - 1) + #"(eq name "x")"# + String(repeating: ")", count: depth - 1)
}

func nots(depth: Int) -> Condition {
    var c = Condition.compare(column: "name", op: .eq, value: .text("x"))
    for _ in 1..<depth { c = .not(c) }
    return c
}
