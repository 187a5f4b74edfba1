import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Testing

/// A receiver that accepts requests and answers only after `delay` (longer than the webhook's
/// timeout): a hung receiver.
private struct SlowReceiver {
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, Error>

    static func start(delay: Duration) async throws -> SlowReceiver {
        let router = Router()
        router.post("hook") { _, _ -> Response in
            try? await Task.sleep(for: delay)
            return Response(status: .noContent)
        }
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "slow-receiver")
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { cont.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var it = ports.makeAsyncIterator()
        return SlowReceiver(port: await it.next() ?? 0, group: group, task: task)
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    func stop() async {
        task.cancel()
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

@Suite("Webhooks: a dead or slow receiver does not delay the others")
struct WebhookIsolationTests {
    /// Creates `count` services on c1 naming `webhook` (one creation event each, all due at once).
    static func createServices(_ s: TestServer, webhook: String, prefix: String, count: Int) async throws {
        for i in 0..<count {
            let r = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"\#(prefix)-\#(i)","flow":[{"$id":"a","$command":"x"}],"webhook":"\#(webhook)"}"#)
            #expect(r.status == 200, "\(r.body)")
        }
    }

    @Test("40 events for a receiver that refuses connections do not delay 50 events for a healthy one")
    func refusedReceiver() async throws {
        // A port that refuses: a receiver started and stopped again.
        let gone = try await Receiver.start()
        let deadURL = gone.url
        await gone.stop()
        let healthy = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"dead","name":"dead","url":"\#(deadURL)","method":"POST"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"ok","name":"ok","url":"\#(healthy.url)","method":"POST"}"#)
            try await Self.createServices(s, webhook: "dead", prefix: "d", count: 40)
            let start = ContinuousClock.now
            try await Self.createServices(s, webhook: "ok", prefix: "h", count: 50)
            #expect(try await waitUntil(timeout: .seconds(30)) { healthy.received.count >= 50 })
            let took = ContinuousClock.now - start
            // Before: each refused attempt held a slot for the 10 s timeout, 80 s for the 50.
            #expect(took < .seconds(5), "50 healthy deliveries took \(took)")
            // The dead receiver's attempts failed fast and were rescheduled, not left hanging.
            let log = try await s.request(.GET, "/api/v1/webhook/dead/delivery")
            let errors = log.array.compactMap { d -> String? in if case .string(let e) = d.field("last_error") { e } else { nil }
            }
            #expect(!errors.isEmpty)
            #expect(errors.allSatisfy { !$0.contains("deadline") }, "\(errors.prefix(3))")
        }
        await healthy.stop()
    }

    @Test("a receiver that hangs until the timeout holds a few sending slots, not all of them")
    func hungReceiver() async throws {
        let slow = try await SlowReceiver.start(delay: .seconds(3))
        let healthy = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook",
                json: #"{"uuid":"slow","name":"slow","url":"\#(slow.url)","method":"POST","timeout":"2s"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"ok","name":"ok","url":"\#(healthy.url)","method":"POST"}"#)
            try await Self.createServices(s, webhook: "slow", prefix: "d", count: 40)
            let start = ContinuousClock.now
            try await Self.createServices(s, webhook: "ok", prefix: "h", count: 50)
            #expect(try await waitUntil(timeout: .seconds(30)) { healthy.received.count >= 50 })
            let took = ContinuousClock.now - start
            // Before: 16 slots held for the 2 s timeout by the slow webhook, round after round.
            #expect(took < .seconds(2), "50 healthy deliveries took \(took)")
        }
        await healthy.stop()
        await slow.stop()
    }
}
