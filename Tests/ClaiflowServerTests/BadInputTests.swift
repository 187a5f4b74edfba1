import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Foundation
import Testing

/// Bad input on every endpoint answers 400 (or 413) naming what is wrong, and writes nothing.
@Suite("Bad input")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let method: String
        let path: String
        let body: String?
        let contentType: String?
        let status: Int
        let mentions: String
        var description: String { "\(method) \(path) \(body ?? "") → \(status) mentioning \(mentions)" }

        init(
            _ method: String, _ path: String, _ body: String? = nil, contentType: String? = "application/json", status: Int = 400,
            mentions: String
        ) {
            self.method = method
            self.path = path
            self.body = body
            self.contentType = contentType
            self.status = status
            self.mentions = mentions
        }
    }

    static let long = String(repeating: "x", count: 300)
    static let g = KnownGlobalVariable.clientSessionExpirationTime.uuid

    static let cases: [Case] = [
        // Malformed bodies.
        Case("POST", "/api/v1/cluster", #"{"name":"#, mentions: "malformed JSON"),
        Case("POST", "/api/v1/cluster", #"["name"]"#, mentions: "JSON object"),
        Case("POST", "/api/v1/cluster", #"{"name":"x"} trailing"#, mentions: "malformed JSON"),
        Case("POST", "/api/v1/cluster", #"{"name":"x"}"#, contentType: "text/plain", mentions: "Content-Type"),
        // Wrong types, missing and empty fields, oversize strings, bad identifiers.
        Case("POST", "/api/v1/cluster", #"{"name":5}"#, mentions: "\"name\": must be a string"),
        Case("POST", "/api/v1/cluster", #"{}"#, mentions: "\"name\": is required"),
        Case("POST", "/api/v1/cluster", #"{"name":""}"#, mentions: "\"name\": must not be empty"),
        Case("POST", "/api/v1/cluster", #"{"name":"\#(long)"}"#, mentions: "\"name\": must be at most 255"),
        Case("POST", "/api/v1/cluster", #"{"name":"x","summary":["a"]}"#, mentions: "\"summary\""),
        Case("POST", "/api/v1/cluster", #"{"name":"x","uuid":"a b"}"#, mentions: "\"uuid\""),
        Case("POST", "/api/v1/cluster", #"{"name":"x","uuid":"\#(long)"}"#, mentions: "\"uuid\""),
        Case("POST", "/api/v1/cluster", #"{"name":"x","uuid":""}"#, mentions: "\"uuid\""),
        Case("PUT", "/api/v1/cluster/c1", #"{"name":true}"#, mentions: "\"name\""),
        Case("POST", "/api/v1/cluster_token", #"{"name":"t"}"#, mentions: "\"cluster_uuid\""),
        Case("POST", "/api/v1/cluster_token", #"{"name":"t","cluster_uuid":7}"#, mentions: "\"cluster_uuid\""),
        Case("POST", "/api/v1/cluster_token", #"{"name":"t","cluster_uuid":"c1","token":"short"}"#, mentions: "\"token\""),
        Case(
            "POST", "/api/v1/cluster_token", #"{"name":"t","cluster_uuid":"c1","token":"has spaces in it 0123"}"#,
            mentions: "\"token\""),
        Case("PUT", "/api/v1/cluster_token/t1", #"{"expiration_time":"tomorrow"}"#, mentions: "\"expiration_time\""),
        Case("PUT", "/api/v1/cluster_token/t1", #"{"issued_at_time":12}"#, mentions: "\"issued_at_time\""),
        Case("PUT", "/api/v1/global_variables/\(g)", #"{"value":60}"#, mentions: "\"value\""),
        Case("POST", "/api/v1/api_key", #"{"role":"viewer"}"#, mentions: "\"name\""),
        // The list language: unknown or malicious columns, bad operators, absurd pagination.
        Case("GET", "/api/v1/cluster?q=" + pct(#"{"eq":{"nope":1}}"#), mentions: #"unknown column "nope""#),
        Case("GET", "/api/v1/cluster?q=" + pct(#"{"eq":{"name`; DROP TABLE cluster;--":1}}"#), mentions: "unknown column"),
        Case("GET", "/api/v1/cluster?q=" + pct(#"(eq "name\" OR 1=1" 1)"#), mentions: "unknown column"),
        Case("GET", "/api/v1/cluster?q=" + pct(#"{"regex":{"name":"x"}}"#), mentions: "regex"),
        Case("GET", "/api/v1/cluster?q=" + pct(#"(define x 1)"#), mentions: "define"),
        Case("GET", "/api/v1/cluster?q=" + pct(#"{"eq":{"id":"abc"}}"#), mentions: "integer"),
        Case("GET", "/api/v1/cluster?q=" + pct(#"{"gt":{"created":"last week"}}"#), mentions: "created"),
        Case("GET", "/api/v1/cluster?q=" + pct("{\"and\":[]}"), mentions: "and"),
        Case("GET", "/api/v1/cluster?o=" + pct(#"{"desc":"password"}"#), mentions: "password"),
        Case("GET", "/api/v1/cluster?o=" + pct(#"{"sideways":"name"}"#), mentions: "sideways"),
        Case("GET", "/api/v1/cluster_token?o=" + pct(#"{"asc":"token_hash"}"#), mentions: "token_hash"),
        Case("GET", "/api/v1/cluster?p=" + pct(#"{"limit":-1}"#), mentions: "limit"),
        Case("GET", "/api/v1/cluster?p=" + pct(#"{"limit":100000000}"#), mentions: "limit"),
        Case("GET", "/api/v1/cluster?p=" + pct(#"{"limit":10,"page":0}"#), mentions: "page"),
        Case("GET", "/api/v1/cluster?p=" + pct(#"{"limit":10,"page":999999999999}"#), mentions: "page"),
        Case("GET", "/api/v1/cluster?p=" + pct(#"{}"#), mentions: "p"),
        Case("GET", "/api/v1/session?q=" + pct(#"{"eq":{"token":"x"}}"#), mentions: "token"),
        Case("GET", "/api/v1/api_key?q=" + pct(#"{"eq":{"key_hash":"x"}}"#), mentions: "key_hash"),
        // A body over the limit.
        Case(
            "POST", "/api/v1/cluster", #"{"name":"x","summary":""# + String(repeating: "y", count: 1_100_000) + #""}"#,
            status: 413, mentions: "larger than"),
    ]

    static func pct(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }

    @Test("answers with a clear error and writes nothing", arguments: cases)
    func rejects(_ c: Case) async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"prod"}"#)
            _ = try await s.request(.POST, "/api/v1/cluster_token", json: #"{"uuid":"t1","name":"t","cluster_uuid":"c1"}"#)
            let before = try await Self.snapshot(s)
            let reply = try await s.request(.init(rawValue: c.method), c.path, json: c.body, contentType: c.contentType)
            #expect(reply.status == c.status, "\(reply.body)")
            #expect(reply.json?.field("code") == .integer(Int64(c.status)))
            #expect(reply.message.contains(c.mentions), "\(reply.body)")
            #expect(try await Self.snapshot(s) == before)
        }
    }

    /// Everything the operator API can write.
    static func snapshot(_ s: TestServer) async throws -> [String] {
        try await s.store.database.read { db in
            var rows: [String] = []
            for table in ["cluster", "cluster_token", "cluster_session", "global_variable", "api_key"] {
                let r = try await db.query(SQL(stringLiteral: "SELECT * FROM \(table) ORDER BY id"))
                rows.append(table + ":" + r.map { "\($0.values.sorted { $0.key < $1.key })" }.joined(separator: "|"))
            }
            return rows
        }
    }
}
