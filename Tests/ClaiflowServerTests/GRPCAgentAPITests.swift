import ClaiflowCore
import ClaiflowGRPC
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

typealias ClientService = Pkg_Server_Api_Client_ClientService

/// An agent speaking the original's gRPC API, through a client generated from the same protos.
struct GRPCTestAgent: Sendable {
    let api: ClientService.Client<HTTP2ClientTransport.Posix>
    var jwt: String = ""

    /// Runs `body` with a client connected to the server's gRPC port (plaintext, gzip on).
    static func with<T: Sendable>(
        _ s: TestServer, security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
        _ body: (GRPCTestAgent) async throws -> T
    ) async throws -> T {
        let port = try #require(s.grpcPort, "the server was started without gRPC")
        return try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security,
                config: .defaults { $0.compression.enabledAlgorithms = .all })
        ) { client in
            try await body(GRPCTestAgent(api: ClientService.Client(wrapping: client)))
        }
    }

    func auth(cluster: String, token: String, version: String = "v1") async throws -> GRPCTestAgent {
        var m = Pkg_Server_Api_Client_AuthRequest_v1()
        m.clusterUuid = cluster
        m.assertion = token
        m.clientVersion = version
        m.clientLibVersion = "0.1.0"
        var copy = self
        copy.jwt = try await api.auth_v1(m).token
        return copy
    }

    var metadata: Metadata { ["authorization": "Bearer \(jwt)"] }

    /// A poll with no deadline, as the original agent sends it: it returns when services exist.
    func poll(limit: Int32 = 10) async throws -> [Pkg_Server_Api_Client_ServicePollingResponse_v1.DataMessage] {
        var m = Pkg_Server_Api_Client_ServicePollingRequest_v1()
        m.limit = limit
        return try await api.servicePolling_v1(m, metadata: metadata).datas
    }

    /// A step report, gzip-compressed like the original agent's; returns whether to cancel.
    @discardableResult
    func report(
        _ uuid: String, seq: Int32, status: Int32, result: String = "", error: String = "", started: Date? = nil,
        ended: Date? = nil
    ) async throws -> Bool {
        var m = Pkg_Server_Api_Client_UpdateServiceStatusRequest_v1()
        m.uuid = uuid
        m.sequence = seq
        m.status = status
        m.result = result
        m.error = error
        if let started { m.started = Google_Protobuf_Timestamp(date: started) }
        if let ended { m.ended = Google_Protobuf_Timestamp(date: ended) }
        var options = CallOptions.defaults
        options.compression = .gzip
        return try await api.updateServiceStatus_v1(m, metadata: metadata, options: options) { response in
            _ = try response.message
            return Array(response.metadata[stringValues: "x-claiflow-cancel"]).last == "true"
        }
    }
}

/// The status code of a failed call (nil when it succeeded).
func rpcCode(_ call: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await call()
        return nil
    } catch let e as RPCError {
        return e.code
    } catch {
        return .unknown
    }
}

@Suite("Agent API over gRPC")
struct GRPCAgentAPITests {
    static func grpc(_ c: inout ServerConfiguration) { c.grpcPort = 0 }

    @Test("handshake: a session token for a valid assertion, INVALID_ARGUMENT for a bad one, UNAUTHENTICATED without a session")
    func handshake() async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await GRPCTestAgent.with(s) { client in
                let agent = try await client.auth(cluster: "c1", token: token, version: "grpc-agent-1")
                #expect(agent.jwt.split(separator: ".").count == 3)
                let sessions = try await s.request(.GET, "/api/v1/session")
                #expect(sessions.array.count == 1)
                #expect(sessions.array.first?.field("client_version") == .string("grpc-agent-1"))

                #expect(await rpcCode { _ = try await client.auth(cluster: "c1", token: "wrong") } == .invalidArgument)
                #expect(await rpcCode { _ = try await client.auth(cluster: "c2", token: token) } == .invalidArgument)
                #expect(await rpcCode { _ = try await client.auth(cluster: "", token: token) } == .invalidArgument)
                #expect(await rpcCode { _ = try await client.poll() } == .unauthenticated)
                var forged = agent
                forged.jwt = String(agent.jwt.dropLast(2)) + "xx"
                #expect(await rpcCode { _ = try await forged.poll() } == .unauthenticated)
                #expect(await rpcCode { try await forged.report("x", seq: 0, status: 2) } == .unauthenticated)
                // The legacy header carries the token too.
                var m = Pkg_Server_Api_Client_UpdateServiceStatusRequest_v1()
                m.uuid = "nothing"
                m.status = 2
                let legacy = await rpcCode {
                    _ = try await client.api.updateServiceStatus_v1(m, metadata: ["x-sudory-client-token": "\(agent.jwt)"])
                }
                #expect(legacy == .notFound)
            }
        }
    }

    @Test(
        "a poll with no deadline parks until a create wakes it; the reply carries the original's fields",
        arguments: StoreKind.available)
    func parkedPollWakes(kind: StoreKind) async throws {
        try await TestServer.with(kind, configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await GRPCTestAgent.with(s) { client in
                let agent = try await client.auth(cluster: "c1", token: token)
                async let parked = agent.poll()
                #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
                let created = ContinuousClock.now
                let r = try await s.request(
                    .POST, "/api/v1/cluster/c1/service",
                    json:
                        #"{"uuid":"wake-me","name":"n","summary":"sum","flow":[{"$id":"a","$command":"claiflow.echo","inputs":"$inputs"},{"$id":"b","$command":"claiflow.echo"}],"inputs":{"k":"v"},"priority":2}"#
                )
                #expect(r.status == 200, "\(r.body)")
                try #require(r.status == 200)
                let datas = try await parked
                let latency = ContinuousClock.now - created
                #expect(latency < .seconds(2), "pickup took \(latency)")
                let d = try #require(datas.first)
                #expect(datas.count == 1)
                #expect(d.uuid == "wake-me")
                #expect(d.clusterUuid == "c1")
                #expect(d.name == "n")
                #expect(d.summary.valid && d.summary.string == "sum")
                #expect(!d.subscribedChannel.valid)
                #expect(d.stepMax == 2)
                #expect(d.priority == 2)
                #expect(try JSONValue.parse(String(decoding: d.inputs, as: UTF8.self)) == .object(["k": .string("v")]))
                #expect(try JSONValue.parse(d.flow).arrayCount == 2)
                let now = Date().timeIntervalSince1970
                #expect(abs(d.created.timeIntervalSince1970 - now) < 60)
                #expect(d.partitionDate.seconds % 86_400 == 0 && d.partitionDate.seconds <= d.created.seconds)
                #expect(try await AgentAPITests.statuses(s, "wake-me") == [0, 1])
            }
        }
    }

    @Test("a full step report sequence (gzip-compressed), duplicates, cancel and the errors of bad reports")
    func reports() async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            _ = try await AgentAPITests.setUp(s, cluster: "c2")
            try await AgentAPITests.create(s, "two", steps: 2)
            try await AgentAPITests.create(s, "theirs", cluster: "c2")
            try await GRPCTestAgent.with(s) { client in
                let agent = try await client.auth(cluster: "c1", token: token)
                #expect(try await agent.poll().map(\.uuid) == ["two"])
                let t0 = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
                #expect(try await agent.report("two", seq: 0, status: 2, started: t0) == false)
                try await agent.report("two", seq: 0, status: 2, started: t0)  // a duplicate changes nothing
                try await agent.report("two", seq: 0, status: 4, result: #"{"a":1}"#, started: t0, ended: t0 + 1)
                try await agent.report("two", seq: 1, status: 2, started: t0 + 2)
                try await agent.report("two", seq: 1, status: 4, result: #"{"done":true}"#, started: t0 + 2, ended: t0 + 3)
                #expect(try await AgentAPITests.statuses(s, "two") == [0, 1, 2, 2, 2, 4])
                let result = try await s.request(.GET, "/api/v1/cluster/c1/service/two/result")
                #expect(result.string("result") == #"{"done":true}"#)
                let detail = try await s.request(.GET, "/api/v1/cluster/c1/service/two")
                guard case .array(let rows) = detail.json?.field("statuses") else {
                    Issue.record("no statuses")
                    return
                }
                #expect(rows.last?.field("ended") == .string("2026-01-01T00:00:03.000000Z"))

                #expect(await rpcCode { try await agent.report("two", seq: 1, status: 8, error: "late") } == .failedPrecondition)
                #expect(await rpcCode { try await agent.report("theirs", seq: 0, status: 2) } == .notFound)
                #expect(await rpcCode { try await agent.report("never", seq: 0, status: 2) } == .notFound)
                #expect(await rpcCode { try await agent.report("two", seq: 0, status: 3) } == .invalidArgument)
                #expect(await rpcCode { try await agent.report("two", seq: -1, status: 2) } == .invalidArgument)
                #expect(await rpcCode { try await agent.report("bad uuid!", seq: 0, status: 2) } == .invalidArgument)

                // Cancel: the next report's metadata tells the agent to stop.
                try await AgentAPITests.create(s, "long", steps: 3)
                #expect(try await agent.poll().map(\.uuid) == ["long"])
                try await agent.report("long", seq: 0, status: 2, started: t0)
                _ = try await s.request(.POST, "/api/v1/cluster/c1/service/long/cancel")
                #expect(try await agent.report("long", seq: 0, status: 4, result: "{}", started: t0, ended: t0 + 1))
                #expect(try await AgentAPITests.statuses(s, "long") == [0, 1, 2, 2, 16])
            }
        }
    }

    @Test(
        "expiring or deleting the token ends a parked poll with UNAUTHENTICATED within seconds", arguments: ["expire", "delete"])
    func revokeParked(action: String) async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await GRPCTestAgent.with(s) { client in
                let agent = try await client.auth(cluster: "c1", token: token)
                async let parked = rpcCode { _ = try await agent.poll() }
                #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
                let start = ContinuousClock.now
                if action == "expire" {
                    _ = try await s.request(.PUT, "/api/v1/cluster_token/t-c1/expire")
                } else {
                    _ = try await s.request(.DELETE, "/api/v1/cluster_token/t-c1")
                }
                #expect(await parked == .unauthenticated)
                #expect(ContinuousClock.now - start < .seconds(5))
                #expect(await rpcCode { _ = try await client.auth(cluster: "c1", token: token) } == .invalidArgument)
            }
        }
    }

    @Test(
        "two clients on one cluster never get the same service; a poll the client cancels stops parking",
        arguments: StoreKind.available)
    func exclusiveClaims(kind: StoreKind) async throws {
        try await TestServer.with(kind, configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            for i in 0..<60 { try await AgentAPITests.create(s, "svc\(i)") }
            try await GRPCTestAgent.with(s) { client in
                let a = try await client.auth(cluster: "c1", token: token)
                let b = try await client.auth(cluster: "c1", token: token)
                let got = try await withThrowingTaskGroup(of: [String].self) { group in
                    for agent in [a, b, a, b] {
                        group.addTask {
                            var mine: [String] = []
                            // Every poll blocks until it gets work: stop when the rest is cancelled.
                            while let batch = try? await agent.poll(limit: 3) { mine += batch.map(\.uuid) }
                            return mine
                        }
                    }
                    #expect(try await waitUntil { try await Self.sent(s) == 60 })
                    #expect(try await waitUntil { s.app.agents.parkedPolls == 4 })
                    group.cancelAll()
                    var all: [String] = []
                    for try await part in group { all += part }
                    return all
                }
                #expect(got.count == 60)
                #expect(Set(got).count == 60)
                // The cancelled polls left the server too.
                #expect(try await waitUntil { s.app.agents.parkedPolls == 0 })
            }
        }
    }

    /// How many services of c1 are delivered (sent).
    static func sent(_ s: TestServer) async throws -> Int {
        let r = try await s.request(.GET, TestServer.query("/api/v1/service", q: #"{"eq":{"status":1}}"#, p: #"{"limit":100}"#))
        return r.array.count
    }

    @Test("REST and gRPC give identical service histories for the same sequence of calls")
    func sameHistories() async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await AgentAPITests.create(s, "ok", steps: 2)
            try await AgentAPITests.create(s, "bad", steps: 3)
            let rest = try await TestAgent.connect(s, cluster: "c1", token: token)
            #expect(rest.uuids(try await rest.poll(limit: 10)).sorted() == ["bad", "ok"])
            let t0 = "2026-01-01T00:00:0"
            _ = try await rest.report("ok", seq: 0, status: 2, result: nil, started: t0 + "0Z")
            _ = try await rest.report("ok", seq: 0, status: 4, result: "{}", started: t0 + "0Z", ended: t0 + "1Z")
            _ = try await rest.report("ok", seq: 1, status: 2, result: nil, started: t0 + "2Z")
            _ = try await rest.report("ok", seq: 1, status: 4, result: #"{"x":[1,2]}"#, started: t0 + "2Z", ended: t0 + "3Z")
            _ = try await rest.report("bad", seq: 0, status: 2, result: nil, started: t0 + "0Z")
            _ = try await rest.report("bad", seq: 0, status: 8, result: nil, error: "boom", started: t0 + "0Z", ended: t0 + "1Z")

            try await AgentAPITests.create(s, "ok-grpc", steps: 2)
            try await AgentAPITests.create(s, "bad-grpc", steps: 3)
            try await GRPCTestAgent.with(s) { client in
                let agent = try await client.auth(cluster: "c1", token: token)
                #expect(try await agent.poll().map(\.uuid).sorted() == ["bad-grpc", "ok-grpc"])
                let t = Date(timeIntervalSince1970: 1_767_225_600)
                try await agent.report("ok-grpc", seq: 0, status: 2, started: t)
                try await agent.report("ok-grpc", seq: 0, status: 4, result: "{}", started: t, ended: t + 1)
                try await agent.report("ok-grpc", seq: 1, status: 2, started: t + 2)
                try await agent.report("ok-grpc", seq: 1, status: 4, result: #"{"x":[1,2]}"#, started: t + 2, ended: t + 3)
                try await agent.report("bad-grpc", seq: 0, status: 2, started: t)
                try await agent.report("bad-grpc", seq: 0, status: 8, error: "boom", started: t, ended: t + 1)
            }
            for (r, g) in [("ok", "ok-grpc"), ("bad", "bad-grpc")] {
                let viaREST = try await Self.history(s, r)
                let viaGRPC = try await Self.history(s, g)
                #expect(viaREST.count >= 4)
                #expect(viaREST == viaGRPC)
            }
        }
    }

    /// A service's history without what differs between any two services (uuids, creation and
    /// delivery times).
    static func history(_ s: TestServer, _ uuid: String) async throws -> [JSONValue] {
        let d = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        let result = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)/result")
        guard case .array(let rows) = d.json?.field("statuses") else { return [] }
        let kept = ["status", "step_seq", "step_max", "started", "ended", "message"]
        let normalized: [JSONValue] = rows.map { row in
            guard case .object(let o) = row else { return row }
            let serverMade = o["status"] == .integer(0) || o["status"] == .integer(1)
            return .object(o.filter { kept.contains($0.key) && !(serverMade && ["started", "ended"].contains($0.key)) })
        }
        return normalized + [
            d.json?.field("status") ?? .null, d.json?.field("step_seq") ?? .null, result.json?.field("result") ?? .null,
        ]
    }

    /// The status code and message of a failed call (nil when it succeeded).
    static func refusal(_ call: () async throws -> Void) async -> (code: RPCError.Code, message: String)? {
        do {
            try await call()
            return nil
        } catch let e as RPCError {
            return (e.code, e.message)
        } catch {
            return (.unknown, "\(error)")
        }
    }

    @Test("the agent input limits live in the use case: REST and gRPC refuse the same inputs with the same message")
    func sameRefusals() async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            // 64 characters of two bytes each are within the limits, 65 are not.
            let wide64 = String(repeating: "é", count: 64)
            let handshakes: [(cluster: String, assertion: String, version: String, lib: String, refusal: String?)] = [
                ("", token, "v1", "0.1.0", #"field "cluster_uuid": must not be empty"#),
                (
                    String(repeating: "c", count: 65), token, "v1", "0.1.0",
                    #"field "cluster_uuid": must be at most 64 characters, got 65"#
                ),
                ("c1", "", "v1", "0.1.0", #"field "assertion": must not be empty"#),
                (
                    "c1", String(repeating: "a", count: 256), "v1", "0.1.0",
                    #"field "assertion": must be at most 255 characters, got 256"#
                ),
                ("c1", token, wide64 + "é", "0.1.0", #"field "client_version": must be at most 64 characters, got 65"#),
                ("c1", token, "v1", wide64 + "v", #"field "client_lib_version": must be at most 64 characters, got 65"#),
                ("c1", token, wide64, wide64, nil),
            ]
            try await GRPCTestAgent.with(s) { client in
                for h in handshakes {
                    let body = JSONValue.object([
                        "cluster_uuid": .string(h.cluster), "assertion": .string(h.assertion),
                        "client_version": .string(h.version),
                        "client_lib_version": .string(h.lib),
                    ])
                    let rest = try await s.request(.POST, "/api/v1/client/auth", json: body.serialized(), key: nil)
                    var m = Pkg_Server_Api_Client_AuthRequest_v1()
                    m.clusterUuid = h.cluster
                    m.assertion = h.assertion
                    m.clientVersion = h.version
                    m.clientLibVersion = h.lib
                    let grpc = await Self.refusal { _ = try await client.api.auth_v1(m) }
                    if let expected = h.refusal {
                        #expect(rest.status == 400)
                        #expect(rest.message == expected)
                        #expect(grpc?.code == .invalidArgument)
                        #expect(grpc?.message == expected)
                    } else {
                        #expect(rest.status == 200, "\(rest.body)")
                        #expect(grpc == nil)
                    }
                }

                let restAgent = try await TestAgent.connect(s, cluster: "c1", token: token)
                let grpcAgent = try await client.auth(cluster: "c1", token: token)
                let tooLong = String(repeating: "e", count: AgentUseCases.Limits.error + 1)
                let reports: [(uuid: String, error: String?, refusal: String)] = [
                    ("bad uuid!", nil, #"field "uuid": must be 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'"#),
                    ("x", tooLong, #"field "error": must be at most 1048576 bytes"#),
                ]
                for r in reports {
                    let rest = try await restAgent.report(r.uuid, seq: 0, status: 8, result: nil, error: r.error)
                    #expect(rest.status == 400)
                    #expect(rest.message == r.refusal)
                    let grpc = await Self.refusal { try await grpcAgent.report(r.uuid, seq: 0, status: 8, error: r.error ?? "") }
                    #expect(grpc?.code == .invalidArgument)
                    #expect(grpc?.message == r.refusal)
                }
            }
        }
    }

    @Test("per-RPC metrics: requests by method and code, durations by method")
    func metrics() async throws {
        try await TestServer.with(configure: Self.grpc) { s in
            let token = try await AgentAPITests.setUp(s)
            try await GRPCTestAgent.with(s) { client in
                _ = try await client.auth(cluster: "c1", token: token)
                _ = await rpcCode { _ = try await client.auth(cluster: "c1", token: "wrong") }
            }
            let text = try await s.request(.GET, "/metrics").body
            #expect(text.contains(#"claiflow_grpc_requests_total{method="Auth_v1",code="ok"} 1"#), "\(text)")
            #expect(text.contains(#"claiflow_grpc_requests_total{method="Auth_v1",code="invalidArgument"} 1"#))
            #expect(text.contains(#"claiflow_grpc_request_duration_seconds_count{method="Auth_v1"} 2"#))
        }
    }

    @Test("a parked poll ends with UNAVAILABLE when the server shuts down, promptly")
    func shutdownEndsParkedPoll() async throws {
        let (parked, stopping): (Task<RPCError.Code?, Never>, ContinuousClock.Instant) = try await TestServer.with(
            configure: Self.grpc
        ) { s in
            let token = try await AgentAPITests.setUp(s)
            let task = Task {
                await rpcCode {
                    try await GRPCTestAgent.with(s) { client in
                        _ = try await client.auth(cluster: "c1", token: token).poll()
                    }
                }
            }
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            return (task, ContinuousClock.now)
        }
        // Not ended, the poll would hold the shutdown for half the session window (30 s); the
        // bound leaves room for a loaded machine (the suite runs the chaos test alongside).
        #expect(ContinuousClock.now - stopping < .seconds(20))
        #expect(await parked.value == .unavailable)
    }

    @Test("TLS: with a certificate and key configured, the gRPC port speaks TLS")
    func tls() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-grpc-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
        ]
        openssl.standardError = FileHandle.nullDevice
        try ProcessLauncher.run(openssl)
        ProcessLauncher.waitUntilExit(openssl)
        try #require(openssl.terminationStatus == 0)
        try await TestServer.with(configure: { c in
            c.grpcPort = 0
            c.grpcTLSCertificate = cert
            c.grpcTLSKey = key
        }) { s in
            let token = try await AgentAPITests.setUp(s)
            let trusted = try await GRPCTestAgent.with(
                s, security: .tls { $0.trustRoots = .certificates([.file(path: cert, format: .pem)]) }
            ) { client in
                try await client.auth(cluster: "c1", token: token).jwt
            }
            #expect(!trusted.isEmpty)
            // A plaintext client cannot talk to it.
            let plain = await rpcCode {
                try await GRPCTestAgent.with(s) { client in _ = try await client.auth(cluster: "c1", token: token) }
            }
            #expect(plain == .unavailable)
        }
    }
}

extension JSONValue {
    fileprivate var arrayCount: Int {
        if case .array(let a) = self { return a.count }
        return -1
    }
}
