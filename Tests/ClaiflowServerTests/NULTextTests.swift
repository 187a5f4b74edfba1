import ClaiflowCore
import ClaiflowGRPC
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import GRPCCore
import Testing

/// U+0000 (NUL), which PostgreSQL cannot store in text and SQLite can, gets the same answer on
/// both stores: a 400 naming the field for operator input (nothing written), and an agent's
/// report text kept losslessly.
@Suite("NUL in text")
struct NULTextTests {
    static let nul = "a\u{0}b"
    static let flow = JSONValue.array([.object(["$id": .string("s0"), "$command": .string("claiflow.echo")])])
    static let g = KnownGlobalVariable.clientSessionExpirationTime.uuid

    /// A request whose body is `base` with `field` set to a text holding NUL.
    struct Case: CustomStringConvertible {
        let method: HTTPMethodName
        let path: String
        let base: [String: JSONValue]
        let field: String
        var value: JSONValue = .string(NULTextTests.nul)
        var description: String { "\(method) \(path) \(field)" }

        var body: String {
            var b = base
            b[field] = value
            return JSONValue.object(b).serialized()
        }
    }

    enum HTTPMethodName: String { case POST, PUT }

    /// Every text field of every entity an operator (or an agent's handshake) writes.
    static func cases(token: String) -> [Case] {
        let hook = object(#"{"name":"h","url":"http://127.0.0.1:9/x","method":"POST"}"#)
        var auth = object(#"{"cluster_uuid":"c1","client_version":"v1","client_lib_version":"0.1.0"}"#)
        auth["assertion"] = .string(token)
        var template = object(#"{"name":"t"}"#)
        template["flow"] = flow
        var service = object(#"{"cluster_uuids":["c1"]}"#)
        service["flow"] = flow
        let headers = JSONValue.object(["X-Team": .array([.string(nul)])])
        var all: [Case] = []
        func add(_ m: HTTPMethodName, _ path: String, _ base: [String: JSONValue], _ fields: [String]) {
            all += fields.map { Case(method: m, path: path, base: base, field: $0) }
        }
        add(.POST, "/api/v1/cluster", object(#"{"name":"x"}"#), ["uuid", "name", "summary"])
        add(.PUT, "/api/v1/cluster/c1", [:], ["name", "summary"])
        add(
            .POST, "/api/v1/cluster_token", object(#"{"name":"t","cluster_uuid":"c1"}"#),
            ["uuid", "name", "summary", "cluster_uuid", "token"])
        add(.PUT, "/api/v1/cluster_token/t1", [:], ["name", "summary", "token"])
        add(.POST, "/api/v1/template", template, ["uuid", "name", "summary", "origin"])
        add(.PUT, "/api/v1/template/tp1", [:], ["name", "summary", "origin"])
        add(
            .POST, "/api/v1/webhook", hook.merging(["conditionValidator": .string("jq")]) { $1 },
            ["uuid", "name", "summary", "url", "method", "conditionValidator", "conditionFilter", "secret", "content_encoding"])
        add(
            .PUT, "/api/v1/webhook/h1", [:],
            ["name", "summary", "url", "method", "conditionFilter", "secret", "content_encoding"])
        all.append(Case(method: .POST, path: "/api/v1/webhook", base: hook, field: "headers", value: headers))
        all.append(Case(method: .PUT, path: "/api/v1/webhook/h1", base: [:], field: "headers", value: headers))
        add(.POST, "/api/v1/cluster/c1/service", ["flow": flow], ["uuid", "name", "summary", "template_uuid", "webhook"])
        add(.POST, "/api/v1/service", service, ["uuid", "name", "summary"])
        add(.POST, "/api/v1/api_key", object(#"{"name":"k","role":"viewer"}"#), ["name", "role"])
        add(.PUT, "/api/v1/global_variables/\(g)", [:], ["value"])
        add(.POST, "/api/v1/client/auth", auth, ["cluster_uuid", "assertion", "client_version", "client_lib_version"])
        return all
    }

    /// The members of a JSON object text.
    static func object(_ json: String) -> [String: JSONValue] {
        guard case .object(let o)? = try? JSONValue.parse(json) else { return [:] }
        return o
    }

    /// `q` on every list, with NUL as a JSON escape in a value, in a `like` pattern, in an `in`
    /// list, and as a raw (percent-encoded) byte.
    static let queries: [String] = {
        let lists: [(path: String, column: String)] = [
            ("/api/v1/cluster", "name"), ("/api/v1/cluster_token", "name"), ("/api/v1/template", "name"),
            ("/api/v1/webhook", "name"), ("/api/v1/service", "name"), ("/api/v1/api_key", "name"),
            ("/api/v1/session", "cluster_uuid"), ("/api/v1/global_variables", "name"), ("/api/v1/webhook/h1/delivery", "status"),
        ]
        return lists.flatMap { l in
            [
                #"{"eq":{"\#(l.column)":"a\u0000b"}}"#, #"{"like":{"\#(l.column)":"%\u0000%"}}"#,
                #"{"in":{"\#(l.column)":["x","\u0000"]}}"#, "{\"eq\":{\"\(l.column)\":\"a\u{0}b\"}}",
            ].map { TestServer.query(l.path, q: $0) }
        }
    }()

    @Test(
        "NUL in any operator text field, a q value or the handshake: 400 naming the field, nothing written",
        arguments: StoreKind.available)
    func refused(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await AgentAPITests.setUp(s)
            let template = try await s.request(
                .POST, "/api/v1/template",
                json: JSONValue.object(["uuid": .string("tp1"), "name": .string("t"), "flow": Self.flow]).serialized())
            #expect(template.status == 200, "\(template.body)")
            let hook = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"h","url":"http://127.0.0.1:9/x","method":"POST"}"#)
            #expect(hook.status == 200, "\(hook.body)")
            let before = try await Self.snapshot(s)
            for c in Self.cases(token: token) {
                let reply = try await s.request(
                    .init(rawValue: c.method.rawValue), c.path, json: c.body,
                    key: c.path.hasPrefix("/api/v1/client") ? nil : TestServer.adminToken)
                #expect(reply.status == 400, "\(c): \(reply.body)")
                #expect(reply.message.contains(#"field "\#(c.field)""#), "\(c): \(reply.body)")
                #expect(reply.message.contains("NUL"), "\(c): \(reply.body)")
            }
            for path in Self.queries {
                let reply = try await s.request(.GET, path)
                #expect(reply.status == 400, "\(path): \(reply.body)")
                #expect(reply.message.hasPrefix("parameter q:"), "\(path): \(reply.body)")
                #expect(reply.message.contains("NUL"), "\(path): \(reply.body)")
            }
            #expect(try await Self.snapshot(s) == before)
        }
    }

    @Test("an agent's result and error holding NUL are stored and read back as sent", arguments: StoreKind.available)
    func reportsKeepNUL(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let token = try await AgentAPITests.setUp(s)
            // A result with a real NUL, one with the JSON escape `\u0000` as text, and texts that
            // start with the stored form's marker (U+0001) must all read back unchanged.
            let results = [
                "x\u{0}y\u{0}", #"{"out":"a\u0000b"}"#, "\u{1}\"plain\"", "\u{1}\u{0}", "",
            ]
            let errors = ["boom\u{0}!", "\u{0}", "\u{1}\"x\"", #"quoted \u0000 text"#, "ok"]
            for i in results.indices { try await AgentAPITests.create(s, "ok\(i)") }
            for i in errors.indices { try await AgentAPITests.create(s, "bad\(i)") }
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(agent.uuids(try await agent.poll(limit: 20)).count == results.count + errors.count)
            func report(_ uuid: String, status: Int, result: String?, error: String?) async throws {
                var body: [String: JSONValue] = [
                    "uuid": .string(uuid), "sequence": .integer(0), "status": .integer(Int64(status)),
                    "started": .string("2026-01-01T00:00:00Z"), "ended": .string("2026-01-01T00:00:01Z"),
                ]
                if let result { body["result"] = .string(result) }
                if let error { body["error"] = .string(error) }
                let r = try await s.request(
                    .PUT, "/api/v1/client/service", json: JSONValue.object(body).serialized(), key: agent.jwt)
                #expect(r.status == 200, "\(uuid): \(r.body)")
            }
            for (i, result) in results.enumerated() { try await report("ok\(i)", status: 4, result: result, error: nil) }
            for (i, error) in errors.enumerated() { try await report("bad\(i)", status: 8, result: nil, error: error) }
            for (i, result) in results.enumerated() {
                let got = try await s.request(.GET, "/api/v1/cluster/c1/service/ok\(i)/result")
                #expect(got.status == 200, "\(got.body)")
                #expect(got.string("result") == result, "\(got.body)")
            }
            for (i, error) in errors.enumerated() {
                let got = try await s.request(.GET, "/api/v1/cluster/c1/service/bad\(i)")
                guard case .array(let rows) = got.json?.field("statuses") else {
                    Issue.record("no statuses: \(got.body)")
                    continue
                }
                #expect(rows.last?.field("status") == .integer(8), "\(got.body)")
                #expect(rows.last?.field("message") == .string(error), "\(got.body)")
            }
        }
    }

    @Test("over gRPC too: NUL in a handshake text is refused naming it, a report's NUL is kept", arguments: StoreKind.available)
    func grpc(kind: StoreKind) async throws {
        try await TestServer.with(kind, configure: GRPCAgentAPITests.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await AgentAPITests.create(s, "ok")
            try await AgentAPITests.create(s, "bad")
            try await GRPCTestAgent.with(s) { client in
                for field in ["client_version", "client_lib_version"] {
                    var m = Pkg_Server_Api_Client_AuthRequest_v1()
                    m.clusterUuid = "c1"
                    m.assertion = token
                    m.clientVersion = field == "client_version" ? Self.nul : "v1"
                    m.clientLibVersion = field == "client_lib_version" ? Self.nul : "0.1.0"
                    let refusal = await GRPCAgentAPITests.refusal { _ = try await client.api.auth_v1(m) }
                    #expect(refusal?.code == .invalidArgument)
                    #expect(refusal?.message == #"field "\#(field)": must not contain the NUL character (U+0000)"#)
                }
                #expect(try await s.request(.GET, "/api/v1/session").array.isEmpty)
                let agent = try await client.auth(cluster: "c1", token: token)
                #expect(try await agent.poll().count == 2)
                let t0 = Date(timeIntervalSince1970: 1_767_225_600)
                try await agent.report("ok", seq: 0, status: 4, result: "r\u{0}1", started: t0, ended: t0 + 1)
                try await agent.report("bad", seq: 0, status: 8, error: "e\u{0}2", started: t0, ended: t0 + 1)
            }
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/ok/result").string("result") == "r\u{0}1")
            let bad = try await s.request(.GET, "/api/v1/cluster/c1/service/bad")
            guard case .array(let rows) = bad.json?.field("statuses") else {
                Issue.record("no statuses: \(bad.body)")
                return
            }
            #expect(rows.last?.field("message") == .string("e\u{0}2"), "\(bad.body)")
        }
    }

    /// Every table an operator or a handshake can write.
    static func snapshot(_ s: TestServer) async throws -> [String] {
        try await s.store.database.read { db in
            var rows: [String] = []
            for table in [
                "cluster", "cluster_token", "cluster_session", "global_variable", "api_key", "template", "webhook", "service",
                "service_status",
            ] {
                let r = try await db.query(SQL(stringLiteral: "SELECT * FROM \(table) ORDER BY id"))
                rows.append(table + ":" + r.map { "\($0.values.sorted { $0.key < $1.key })" }.joined(separator: "|"))
            }
            return rows
        }
    }
}
