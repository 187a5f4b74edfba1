import AsyncHTTPClient
import ClaiflowCore
import ClaiflowGRPC
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOHTTP1

/// The simulated agents of the dispatch benchmarks, driving a ``BenchServerProcess``: one
/// cluster, cluster token and agent session per agent, each agent polling, reporting
/// `processing` then `succeeded` for every service it receives, and polling again.
struct BenchFleet: Sendable {
    /// One HTTP request to the server: method, path, JSON body, `Authorization` value; the status
    /// and the body.
    typealias Call = @Sendable (HTTPMethod, String, String?, String) async throws -> (Int, ByteBuffer)

    let server: BenchServerProcess
    let client: HTTPClient
    /// The clusters' uuids, `b<prefix>-<i>`, in agent order.
    let clusters: [String]
    /// The agents, in cluster order.
    let agents: [any BenchAgent]
    /// gRPC clients (one HTTP/2 connection per 100 agents) when the transport is gRPC.
    private let grpcClients: [GRPCClient<HTTP2ClientTransport.Posix>]
    private let connections: Task<Void, Never>
    /// Sends a request to the server.
    let call: Call

    /// How many agents start at once.
    static let wave = 1000

    /// Enrolls `count` agents (16 set up at a time) on the server: their clusters (with
    /// `labels`), tokens and sessions.
    static func enroll(
        on server: BenchServerProcess, count: Int, transport: DispatchBench.Transport, labels: [String: String] = [:]
    ) async throws -> BenchFleet {
        let base = server.base
        let admin = server.auth
        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: count + 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
        let call: Call = { method, path, body, auth in
            var r = HTTPClientRequest(url: base + path)
            r.method = method
            r.headers.add(name: "Authorization", value: auth)
            if let body {
                r.headers.add(name: "Content-Type", value: "application/json")
                r.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(r, timeout: .seconds(120))
            return (Int(response.status.code), try await response.body.collect(upTo: 1 << 24))
        }

        // gRPC agents share one client (HTTP/2 connection) per 100 agents.
        let grpcClients: [GRPCClient<HTTP2ClientTransport.Posix>] =
            if transport == .grpc, let port = server.grpcPort {
                try (0..<(count + 99) / 100).map { _ in
                    GRPCClient(
                        transport: try .http2NIOPosix(
                            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
                            config: .defaults { $0.compression.enabledAlgorithms = .all }))
                }
            } else {
                []
            }
        let connections = Task {
            await withTaskGroup(of: Void.self) { g in
                for c in grpcClients { g.addTask { try? await c.runConnections() } }
            }
        }

        let prefix = Identifier.generate().prefix(6)
        let labelsJSON = JSONValue.object(labels.mapValues { .string($0) }).serialized()
        @Sendable func enroll(_ i: Int) async throws -> any BenchAgent {
            let c = "b\(prefix)-\(i)"
            _ = try await call(.POST, "/api/v1/cluster", #"{"uuid":"\#(c)","name":"\#(c)","labels":\#(labelsJSON)}"#, admin)
            let secret = "secret-\(prefix)-\(i)-0123456789"
            _ = try await call(
                .POST, "/api/v1/cluster_token", #"{"name":"a","cluster_uuid":"\#(c)","token":"\#(secret)"}"#, admin)
            switch transport {
            case .rest:
                let (status, body) = try await call(
                    .POST, "/api/v1/client/auth", #"{"cluster_uuid":"\#(c)","assertion":"\#(secret)","client_version":"bench"}"#,
                    "")
                guard status == 200, case .string(let jwt) = try JSONValue.parse(body.readableBytesView).field("access_token")
                else {
                    throw FlowBenchError("agent auth failed: \(status)")
                }
                return RESTBenchAgent(auth: "Bearer \(jwt)", call: call)
            case .grpc:
                let api = Pkg_Server_Api_Client_ClientService.Client(wrapping: grpcClients[i / 100])
                var m = Pkg_Server_Api_Client_AuthRequest_v1()
                m.clusterUuid = c
                m.assertion = secret
                m.clientVersion = "bench"
                let jwt = try await api.auth_v1(m).token
                return GRPCBenchAgent(api: api, metadata: ["authorization": "Bearer \(jwt)"])
            }
        }
        let agents = try await withThrowingTaskGroup(of: [(Int, any BenchAgent)].self) { g in
            for w in 0..<16 {
                g.addTask { try await stride(from: w, to: count, by: 16).asyncMap { ($0, try await enroll($0)) } }
            }
            var all: [(Int, any BenchAgent)] = []
            for try await part in g { all += part }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return BenchFleet(
            server: server, client: client, clusters: (0..<count).map { "b\(prefix)-\($0)" }, agents: agents,
            grpcClients: grpcClients, connections: connections, call: call)
    }

    /// Starts every agent's loop: poll, report `processing` and then `succeeded` with `result`
    /// for each service, poll again; what they see goes to `pickups`. Agents connect in waves of
    /// 1,000, each wave parked before the next starts: one client process opening 10,000
    /// connections at once on this machine sends some of its requests later than the server's
    /// 10 s header timeout (docs/benchmarks.md). Cancel the task to stop them.
    func start(_ pickups: DispatchBench.Pickups, result: String = "{}") -> Task<Void, Never> {
        let agents = agents
        let server = server
        return Task {
            await withTaskGroup(of: Void.self) { g in
                for (i, agent) in agents.enumerated() {
                    g.addTask {
                        while !Task.isCancelled {
                            do {
                                for uuid in try await agent.poll() {
                                    pickups.picked(uuid)
                                    let started = Timestamp.now()
                                    let processing = try await agent.report(
                                        uuid, status: 2, result: "", started: started, ended: nil)
                                    if processing != 200 { pickups.failed("report processing: HTTP \(processing)") }
                                    pickups.ending()
                                    let succeeded = try await agent.report(
                                        uuid, status: 4, result: result, started: started, ended: .now())
                                    if succeeded == 200 {
                                        pickups.finished()
                                    } else {
                                        pickups.failed("report succeeded: HTTP \(succeeded)")
                                    }
                                }
                            } catch {
                                if Task.isCancelled { return }
                                pickups.failed(String(describing: error))
                            }
                        }
                    }
                    if (i + 1) % Self.wave == 0 || i + 1 == agents.count {
                        let until = ContinuousClock.now + .seconds(20)
                        while let s = try? await server.stats(), s.parkedPolls < i + 1, ContinuousClock.now < until {
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                pickups.allStarted()
            }
        }
    }

    /// Waits until the agents `start` started are all parked (or a deadline of 60 s plus 20 s per
    /// wave passed); the parked polls and the seconds it took.
    func waitParked(_ pickups: DispatchBench.Pickups) async throws -> (parked: Int, seconds: Double) {
        let parkStart = ContinuousClock.now
        let parkDeadline = parkStart + .seconds(60 + 20 * agents.count / Self.wave)
        // (One caller of `stats()` at a time: the waves ask it until the last one is parked.)
        while !pickups.isStarted { try await Task.sleep(for: .milliseconds(50)) }
        while try await server.stats().parkedPolls < agents.count, ContinuousClock.now < parkDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        return (try await server.stats().parkedPolls, Self.seconds(ContinuousClock.now - parkStart))
    }

    /// Stops the agents' `loop`, the server, and the clients.
    func stop(_ loop: Task<Void, Never>) async {
        loop.cancel()
        await server.stop()
        _ = await loop.value
        for c in grpcClients { c.beginGracefulShutdown() }
        _ = await connections.value
        try? await client.shutdown()
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
