import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Webhook delivery: services are created with a webhook that points at a receiver on loopback;
/// each create is a status change (`regist`) and so one delivery. Measures the delay from the
/// status change (its `created` time in the payload) to the receiver getting it, one at a time,
/// and the deliveries per second of a burst.
struct WebhookBench {
    let databaseURL: String
    let samples: Int
    let burst: Int

    final class Arrivals: Sendable {
        private let state = Mutex<[(String, Timestamp)]>([])
        func add(_ payload: String) {
            guard let json = try? JSONValue.parse(payload), case .string(let created) = json.field("created"),
                let t = Timestamp(parsing: created), case .string(let uuid) = json.field("service_uuid")
            else { return }
            let now = Timestamp.now()
            state.withLock { $0.append((uuid, Timestamp(microseconds: now.microseconds - t.microseconds))) }
        }
        var count: Int { state.withLock { $0.count } }
        func delay(of uuid: String) -> Timestamp? { state.withLock { $0.first { $0.0 == uuid }?.1 } }
    }

    func run() async throws -> (p50: Double, p99: Double, perSecond: Double) {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let arrivals = Arrivals()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            arrivals.add(String(buffer: body))
            return Response(status: .noContent)
        }
        let (rports, rcont) = AsyncStream.makeStream(of: Int.self)
        let receiver = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { rcont.yield($0.localAddress?.port ?? 0) }, logger: logger)

        let server = try await BenchServer.start(databaseURL: databaseURL, alongside: [receiver])
        var rit = rports.makeAsyncIterator()
        guard let rport = await rit.next() else { throw FlowBenchError("receiver did not start") }
        let base = server.base
        let auth = server.auth
        @Sendable func post(_ path: String, _ body: String) async throws {
            var r = HTTPClientRequest(url: base + path)
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: body))
            _ = try await HTTPClient.shared.execute(r, timeout: .seconds(30)).body.collect(upTo: 1 << 24)
        }
        let run = Identifier.generate().prefix(6)
        try await post("/api/v1/cluster", #"{"uuid":"w\#(run)","name":"w"}"#)
        try await post(
            "/api/v1/webhook", #"{"uuid":"h\#(run)","name":"bench","url":"http://127.0.0.1:\#(rport)/hook","method":"POST"}"#)
        func create(_ uuid: String) async throws {
            try await post(
                "/api/v1/cluster/w\(run)/service",
                #"{"uuid":"\#(uuid)","flow":[{"$id":"a","$command":"x"}],"webhook":"h\#(run)"}"#)
        }
        var delays: [Double] = []
        for i in 0..<samples {
            let uuid = "d\(i)"
            try await create(uuid)
            let until = ContinuousClock.now + .seconds(10)
            var d = arrivals.delay(of: uuid)
            while d == nil, ContinuousClock.now < until {
                try await Task.sleep(for: .microseconds(200))
                d = arrivals.delay(of: uuid)
            }
            if let d { delays.append(Double(d.microseconds) / 1000) }
        }
        delays.sort()
        func pct(_ p: Double) -> Double { delays.isEmpty ? 0 : delays[min(delays.count - 1, Int(Double(delays.count) * p))] }
        let before = arrivals.count
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { g in
            for w in 0..<8 {
                g.addTask {
                    var i = w
                    while i < burst {
                        try await post(
                            "/api/v1/cluster/w\(run)/service",
                            #"{"uuid":"b\#(i)","flow":[{"$id":"a","$command":"x"}],"webhook":"h\#(run)"}"#)
                        i += 8
                    }
                }
            }
            try await g.waitForAll()
        }
        let until = ContinuousClock.now + .seconds(120)
        while arrivals.count - before < burst, ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(5)) }
        let d = ContinuousClock.now - start
        let rate = Double(arrivals.count - before) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        await server.stop()
        return (pct(0.5), pct(0.99), rate)
    }
}
