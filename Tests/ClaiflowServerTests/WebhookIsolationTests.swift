import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A receiver that accepts requests and answers none until released: a hung receiver. It counts
/// the requests it holds and the most it held at once.
private final class HungReceiver: Sendable {
    private struct State {
        var waiting: [CheckedContinuation<Void, Never>] = []
        var released = false
        var holding = 0
        var mostHeld = 0
    }
    private let state = Mutex(State())
    private let server: LoopbackServer

    private init(server: LoopbackServer) {
        self.server = server
    }

    static func start() async throws -> HungReceiver {
        let box = HungBox()
        let router = Router()
        router.post("hook") { _, _ -> Response in
            await box.receiver?.hold()
            return Response(status: .noContent)
        }
        let receiver = HungReceiver(server: try await LoopbackServer.start(router, label: "hung-receiver"))
        box.receiver = receiver
        return receiver
    }

    private func hold() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resume = state.withLock { s -> Bool in
                if s.released { return true }
                s.waiting.append(c)
                s.holding += 1
                s.mostHeld = max(s.mostHeld, s.holding)
                return false
            }
            if resume { c.resume() }
        }
    }

    var holding: Int { state.withLock { $0.holding } }
    var mostHeld: Int { state.withLock { $0.mostHeld } }
    var url: String { server.hookURL }

    func stop() async {
        let waiting = state.withLock { s in
            s.released = true
            defer { s.waiting = [] }
            return s.waiting
        }
        for c in waiting { c.resume() }
        await server.stop()
    }
}

private final class HungBox: @unchecked Sendable {
    var receiver: HungReceiver?
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
            #expect(took < .seconds(8), "50 healthy deliveries took \(took)")
            // The dead receiver's attempts failed fast and were rescheduled, not left hanging.
            let log = try await s.request(.GET, "/api/v1/webhook/dead/delivery")
            let errors = log.array.compactMap { d -> String? in if case .string(let e) = d.field("last_error") { e } else { nil }
            }
            #expect(!errors.isEmpty)
            #expect(errors.allSatisfy { !$0.contains("deadline") }, "\(errors.prefix(3))")
        }
        await healthy.stop()
    }

    @Test("a receiver that never answers holds some sending slots, never all of them")
    func hungReceiver() async throws {
        let hung = try await HungReceiver.start()
        let healthy = try await Receiver.start()
        let bodyEnded = try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook",
                json: #"{"uuid":"hung","name":"hung","url":"\#(hung.url)","method":"POST","timeout":"5m"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"ok","name":"ok","url":"\#(healthy.url)","method":"POST"}"#)
            try await Self.createServices(s, webhook: "hung", prefix: "d", count: 40)
            #expect(try await waitUntil { hung.holding >= 1 })
            try await Self.createServices(s, webhook: "ok", prefix: "h", count: 50)
            // Before, the hung receiver's 40 deliveries took all 16 slots until their timeout
            // (5 minutes here): nothing else was sent meanwhile.
            #expect(try await waitUntil(timeout: .seconds(30)) { healthy.received.count >= 50 })
            #expect(hung.holding >= 1, "the hung attempts are still open: the healthy ones did not wait for them")
            #expect(hung.mostHeld <= 12, "one webhook held \(hung.mostHeld) of the 16 sending slots")
            return ContinuousClock.now
        }
        // The server's shutdown cancels the hung attempts after a short grace, not after their timeout.
        let shutdown = ContinuousClock.now - bodyEnded
        #expect(shutdown < .seconds(30), "the shutdown took \(shutdown)")
        await healthy.stop()
        await hung.stop()
    }
}
