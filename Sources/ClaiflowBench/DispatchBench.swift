import AsyncHTTPClient
import ClaiflowCore
import ClaiflowGRPC
import ClaiflowServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The dispatch benchmark: N simulated agents (one cluster each, REST or gRPC agent protocol)
/// keep a long poll parked; the benchmark measures the database statements per second while they are all
/// idle, the create→pickup latency of services created one at a time, and the sustained rate of
/// full cycles (create → poll → processing → succeeded).
struct DispatchBench {
    let databaseURL: String
    let agents: Int
    let latencySamples: Int
    let cycles: Int
    let concurrency: Int
    /// The agent protocol's transport.
    var transport: Transport = .rest

    enum Transport: String, Sendable { case rest, grpc }

    struct Figures {
        var idleStatementsPerSecond: Double
        var parked: Int
        var pickupP50: Double
        var pickupP99: Double
        var cyclesPerSecond: Double
        var errors: Int
        /// The server's resident memory before the agents connected and with all of them parked, KiB.
        var serverKiBBefore: Int
        var serverKiBParked: Int
        /// (parked − before) / parked polls.
        var bytesPerParkedPoll: Double
        /// The most HTTP connections the server had open at once.
        var peakConnections: Int
    }

    /// What the agents saw: when each service was picked up.
    final class Pickups: Sendable {
        private let state = Mutex<[String: ContinuousClock.Instant]>([:])
        private let done = Mutex<Int>(0)
        private let inFlight = Mutex<(now: Int, peak: Int)>((0, 0))
        func picked(_ uuid: String) {
            state.withLock { $0[uuid] = ContinuousClock.now }
            inFlight.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
        }
        /// An agent is about to report a service it picked up `succeeded`.
        func ending() { inFlight.withLock { $0.now -= 1 } }
        /// The most services the agents held at once (picked up, `succeeded` not yet sent).
        var peakInFlight: Int { inFlight.withLock { $0.peak } }
        func time(_ uuid: String) -> ContinuousClock.Instant? { state.withLock { $0[uuid] } }
        func finished() { done.withLock { $0 += 1 } }
        private let failures = Mutex<[String: Int]>([:])
        private let phase = Mutex<String>("parking")
        private let started = Mutex(false)
        /// Every agent was started (the last wave is parked).
        func allStarted() { started.withLock { $0 = true } }
        var isStarted: Bool { started.withLock { $0 } }
        /// Names the benchmark's phase, which each failure is counted under.
        func enter(_ name: String) { phase.withLock { $0 = name } }
        func failed(_ kind: String) {
            let p = phase.withLock { $0 }
            failures.withLock { $0["\(p): \(kind)", default: 0] += 1 }
        }
        var failedCount: Int { failures.withLock { $0.values.reduce(0, +) } }
        var failureKinds: [String: Int] { failures.withLock { $0 } }
        var finishedCount: Int { done.withLock { $0 } }
    }

    func run() async throws -> Figures {
        let server = try await BenchServerProcess.start(databaseURL: databaseURL, withGRPC: transport == .grpc)
        let fleet = try await BenchFleet.enroll(on: server, count: agents, transport: transport)
        let admin = server.auth
        let call = fleet.call
        let clusters = fleet.clusters
        // The server's memory with the fleet enrolled and none of it connected for a poll.
        try await Task.sleep(for: .seconds(1))
        try await server.trimHeap()
        let kibBefore = server.residentKiB()

        // Agents: poll, report processing and succeeded for each service, poll again.
        let pickups = Pickups()
        let agentTasks = fleet.start(pickups)

        // Idle: every agent parked; count the statements over 10 s.
        let (parked, parkTime) = try await fleet.waitParked(pickups)
        try await Task.sleep(for: .seconds(2))
        let kibUntrimmed = server.residentKiB()
        try await server.trimHeap()
        let kibParked = server.residentKiB()
        print(
            "  server pid \(server.pid): \(parked) of \(agents) parked in \(String(format: "%.1f", parkTime)) s; server RSS (after malloc_trim) "
                + "\(kibBefore / 1024) MiB before, \(kibParked / 1024) MiB parked (\(kibUntrimmed / 1024) MiB untrimmed: "
                + "\(parked > 0 ? (kibUntrimmed - kibBefore) * 1024 / parked : 0) B per parked poll)")
        pickups.enter("idle")
        let s0 = try await server.stats().statementsExecuted
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(10))
        let idle = Double(try await server.stats().statementsExecuted - s0) / seconds(ContinuousClock.now - t0)

        pickups.enter("latency")
        // Latency: one service at a time, on a random cluster; pickup time seen by its agent.
        var latencies: [Double] = []
        for i in 0..<latencySamples {
            let uuid = "lat\(i)"
            let cluster = clusters[Int.random(in: 0..<agents)]
            let sent = ContinuousClock.now
            _ = try await call(
                .POST, "/api/v1/cluster/\(cluster)/service", #"{"uuid":"\#(uuid)","flow":[{"$id":"s","$command":"noop"}]}"#,
                admin)
            var picked = pickups.time(uuid)
            let until = ContinuousClock.now + .seconds(10)
            while picked == nil, ContinuousClock.now < until {
                try await Task.sleep(for: .microseconds(200))
                picked = pickups.time(uuid)
            }
            if let picked { latencies.append(seconds(picked - sent) * 1000) } else { pickups.failed("not picked up in 10 s") }
        }
        latencies.sort()
        func pct(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }

        pickups.enter("cycles")
        // Throughput: full cycles with `concurrency` creators.
        let before = pickups.finishedCount
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { g in
            for w in 0..<concurrency {
                g.addTask {
                    var i = w
                    while i < cycles {
                        let cluster = clusters[i % agents]
                        do {
                            let (status, _) = try await call(
                                .POST, "/api/v1/cluster/\(cluster)/service",
                                #"{"uuid":"cyc\#(i)","flow":[{"$id":"s","$command":"noop"}]}"#,
                                admin)
                            if status != 201 && status != 200 { pickups.failed("create service: HTTP \(status)") }
                        } catch {
                            pickups.failed("create service: \(error)")
                        }
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

        // After the cycles every agent parks again, on a connection that also carried its
        // reports: the server's memory then (an upper bound: it also holds what the cycles stored).
        let (reparked, _) = try await fleet.waitParked(pickups)
        try await Task.sleep(for: .seconds(2))
        try await server.trimHeap()
        let kibAfterCycles = server.residentKiB()
        print(
            "  after the cycles: \(reparked) parked again; server RSS (after malloc_trim) \(kibAfterCycles / 1024) MiB "
                + "(\(reparked > 0 ? (kibAfterCycles - kibBefore) * 1024 / reparked : 0) B per parked poll over the enrolled fleet)"
        )

        let last = try await server.stats()
        let peakConnections = last.peakConnections
        if last.headerTimeouts > 0 {
            print(
                "  the server closed \(last.headerTimeouts) connections whose request head did not arrive within the header timeout"
            )
        }
        await fleet.stop(agentTasks)
        for (kind, n) in pickups.failureKinds.sorted(by: { $0.value > $1.value }) { print("  error \(n)× \(kind)") }
        return Figures(
            idleStatementsPerSecond: idle, parked: parked, pickupP50: pct(0.5), pickupP99: pct(0.99), cyclesPerSecond: rate,
            errors: pickups.failedCount, serverKiBBefore: kibBefore, serverKiBParked: kibParked,
            bytesPerParkedPoll: parked > 0 ? Double(kibParked - kibBefore) * 1024 / Double(parked) : 0,
            peakConnections: peakConnections)
    }

    func seconds(_ d: Duration) -> Double { BenchFleet.seconds(d) }
}

/// One simulated agent's protocol calls.
protocol BenchAgent: Sendable {
    /// A long poll for up to 4 services; their uuids.
    func poll() async throws -> [String]
    /// A step-0 report; the HTTP status it was answered with (200 when accepted).
    func report(_ uuid: String, status: Int, result: String, started: Timestamp, ended: Timestamp?) async throws -> Int
}

/// The REST agent protocol (`wait=30`).
struct RESTBenchAgent: BenchAgent {
    let auth: String
    let call: @Sendable (HTTPMethod, String, String?, String) async throws -> (Int, ByteBuffer)

    init(auth: String, call: @escaping @Sendable (HTTPMethod, String, String?, _ auth: String) async throws -> (Int, ByteBuffer))
    {
        self.auth = auth
        self.call = call
    }

    func poll() async throws -> [String] {
        let (status, body) = try await call(.GET, "/api/v1/client/service?limit=4&wait=30", nil, auth)
        guard status == 200, case .array(let items) = try JSONValue.parse(body.readableBytesView) else {
            throw FlowBenchError("poll failed: \(status)")
        }
        return items.compactMap { if case .string(let u) = $0.field("uuid") { u } else { nil } }
    }

    func report(_ uuid: String, status: Int, result: String, started: Timestamp, ended: Timestamp?) async throws -> Int {
        var body =
            #"{"uuid":"\#(uuid)","sequence":0,"status":\#(status),"result":\#(JSONValue.string(result).serialized()),"started":"\#(started.rfc3339)""#
        if let ended { body += #","ended":"\#(ended.rfc3339)""# }
        return try await call(.PUT, "/api/v1/client/service", body + "}", auth).0
    }
}

/// The original's gRPC agent protocol: polls without a deadline, gzip-compressed reports.
struct GRPCBenchAgent: BenchAgent {
    let api: Pkg_Server_Api_Client_ClientService.Client<HTTP2ClientTransport.Posix>
    let metadata: Metadata

    func poll() async throws -> [String] {
        var m = Pkg_Server_Api_Client_ServicePollingRequest_v1()
        m.limit = 4
        return try await api.servicePolling_v1(m, metadata: metadata).datas.map(\.uuid)
    }

    func report(_ uuid: String, status: Int, result: String, started: Timestamp, ended: Timestamp?) async throws -> Int {
        var m = Pkg_Server_Api_Client_UpdateServiceStatusRequest_v1()
        m.uuid = uuid
        m.status = Int32(status)
        m.result = result
        m.started = .init(date: started.date)
        if let ended { m.ended = .init(date: ended.date) }
        var options = CallOptions.defaults
        options.compression = .gzip
        _ = try await api.updateServiceStatus_v1(m, metadata: metadata, options: options)
        return 200
    }
}

struct FlowBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Sequence {
    /// The elements transformed one after the other by an async function.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await transform(e)) }
        return out
    }
}
