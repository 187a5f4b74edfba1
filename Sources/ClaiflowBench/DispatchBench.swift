import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The dispatch benchmark: N simulated agents (one cluster each, REST agent protocol) keep a long
/// poll parked; the benchmark measures the database statements per second while they are all
/// idle, the create→pickup latency of services created one at a time, and the sustained rate of
/// full cycles (create → poll → processing → succeeded).
struct DispatchBench {
    let databaseURL: String
    let agents: Int
    let latencySamples: Int
    let cycles: Int
    let concurrency: Int

    struct Figures {
        var idleStatementsPerSecond: Double
        var parked: Int
        var pickupP50: Double
        var pickupP99: Double
        var cyclesPerSecond: Double
        var errors: Int
    }

    /// What the agents saw: when each service was picked up.
    final class Pickups: Sendable {
        private let state = Mutex<[String: ContinuousClock.Instant]>([:])
        private let done = Mutex<Int>(0)
        func picked(_ uuid: String) { state.withLock { $0[uuid] = ContinuousClock.now } }
        func time(_ uuid: String) -> ContinuousClock.Instant? { state.withLock { $0[uuid] } }
        func finished() { done.withLock { $0 += 1 } }
        private let failures = Mutex<Int>(0)
        func failed() { failures.withLock { $0 += 1 } }
        var failedCount: Int { failures.withLock { $0 } }
        var finishedCount: Int { done.withLock { $0 } }
    }

    func run() async throws -> Figures {
        let server = try await BenchServer.start(databaseURL: databaseURL)
        let app = server.app
        let base = server.base
        let admin = server.auth
        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: agents + 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)

        @Sendable func call(_ method: HTTPMethod, _ path: String, _ body: String?, auth: String) async throws -> (Int, ByteBuffer) {
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

        // Fleet: one cluster, token and agent session per agent.
        let run = Identifier.generate().prefix(6)
        var jwts: [String] = []
        for i in 0..<agents {
            let c = "b\(run)-\(i)"
            _ = try await call(.POST, "/api/v1/cluster", #"{"uuid":"\#(c)","name":"\#(c)"}"#, auth: admin)
            let secret = "secret-\(run)-\(i)-0123456789"
            _ = try await call(.POST, "/api/v1/cluster_token", #"{"name":"a","cluster_uuid":"\#(c)","token":"\#(secret)"}"#, auth: admin)
            let (status, body) = try await call(
                .POST, "/api/v1/client/auth", #"{"cluster_uuid":"\#(c)","assertion":"\#(secret)","client_version":"bench"}"#,
                auth: "")
            guard status == 200, case .string(let jwt) = try JSONValue.parse(body.readableBytesView).field("access_token") else {
                throw FlowBenchError("agent auth failed: \(status)")
            }
            jwts.append(jwt)
        }

        // Agents: poll (wait 30 s), report processing and succeeded for each service, poll again.
        let pickups = Pickups()
        let sessions = jwts
        let agentTasks = Task {
            await withTaskGroup(of: Void.self) { g in
                for jwt in sessions {
                    g.addTask {
                        let auth = "Bearer \(jwt)"
                        while !Task.isCancelled {
                            do {
                                let (status, body) = try await call(.GET, "/api/v1/client/service?limit=4&wait=30", nil, auth: auth)
                                guard status == 200, case .array(let items) = try JSONValue.parse(body.readableBytesView) else {
                                    if Task.isCancelled { return }
                                    pickups.failed()
                                    continue
                                }
                                for item in items {
                                    guard case .string(let uuid) = item.field("uuid") else { continue }
                                    pickups.picked(uuid)
                                    let now = Timestamp.now().rfc3339
                                    _ = try await call(
                                        .PUT, "/api/v1/client/service",
                                        #"{"uuid":"\#(uuid)","sequence":0,"status":2,"result":"","started":"\#(now)"}"#, auth: auth)
                                    let (s2, _) = try await call(
                                        .PUT, "/api/v1/client/service",
                                        #"{"uuid":"\#(uuid)","sequence":0,"status":4,"result":"{}","started":"\#(now)","ended":"\#(Timestamp.now().rfc3339)"}"#,
                                        auth: auth)
                                    if s2 == 200 { pickups.finished() } else { pickups.failed() }
                                }
                            } catch {
                                if Task.isCancelled { return }
                                pickups.failed()
                            }
                        }
                    }
                }
            }
        }

        // Idle: every agent parked; count the statements over 10 s.
        let parkDeadline = ContinuousClock.now + .seconds(60)
        while app.agents.parkedPolls < agents, ContinuousClock.now < parkDeadline { try await Task.sleep(for: .milliseconds(50)) }
        let parked = app.agents.parkedPolls
        try await Task.sleep(for: .seconds(2))
        let s0 = app.store.database.statementsExecuted
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(10))
        let idle = Double(app.store.database.statementsExecuted - s0) / seconds(ContinuousClock.now - t0)

        // Latency: one service at a time, on a random cluster; pickup time seen by its agent.
        var latencies: [Double] = []
        for i in 0..<latencySamples {
            let uuid = "lat\(i)"
            let cluster = "b\(run)-\(Int.random(in: 0..<agents))"
            let sent = ContinuousClock.now
            _ = try await call(.POST, "/api/v1/cluster/\(cluster)/service", #"{"uuid":"\#(uuid)","flow":[{"$id":"s","$command":"noop"}]}"#, auth: admin)
            var picked = pickups.time(uuid)
            let until = ContinuousClock.now + .seconds(10)
            while picked == nil, ContinuousClock.now < until {
                try await Task.sleep(for: .microseconds(200))
                picked = pickups.time(uuid)
            }
            if let picked { latencies.append(seconds(picked - sent) * 1000) } else { pickups.failed() }
        }
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

        // Throughput: full cycles with `concurrency` creators.
        let before = pickups.finishedCount
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { g in
            for w in 0..<concurrency {
                g.addTask {
                    var i = w
                    while i < cycles {
                        let cluster = "b\(run)-\(i % agents)"
                        _ = try? await call(
                            .POST, "/api/v1/cluster/\(cluster)/service", #"{"uuid":"cyc\#(i)","flow":[{"$id":"s","$command":"noop"}]}"#,
                            auth: admin)
                        i += concurrency
                    }
                }
            }
        }
        let cyclesDeadline = ContinuousClock.now + .seconds(120)
        while pickups.finishedCount - before < cycles, ContinuousClock.now < cyclesDeadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let rate = Double(pickups.finishedCount - before) / seconds(ContinuousClock.now - start)

        agentTasks.cancel()
        await server.stop()
        _ = await agentTasks.value
        try? await client.shutdown()
        return Figures(
            idleStatementsPerSecond: idle, parked: parked, pickupP50: pct(0.5), pickupP99: pct(0.99), cyclesPerSecond: rate,
            errors: pickups.failedCount)
    }

    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}

struct FlowBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
