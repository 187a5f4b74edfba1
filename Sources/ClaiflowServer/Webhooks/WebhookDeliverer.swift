import AsyncHTTPClient
import ClaiflowCore
import ClaiflowStore
import CompressNIO
import Crypto
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Sends the webhook outbox: background workers (safe with several replicas — claims are
/// exclusive) that deliver each pending event with Standard Webhooks signatures, retry with
/// exponential backoff and jitter up to ``maxAttempts``, and keep the order of one service's events.
public final class WebhookDeliverer: ServiceLifecycle.Service, Sendable {
    /// Attempts before a delivery is `failed`.
    public static let maxAttempts = 8
    /// The default request timeout.
    public static let defaultTimeout: Duration = .seconds(10)
    static let batch = 16
    /// How long a shutdown waits for attempts in flight before cancelling them.
    static let shutdownGrace: Duration = .seconds(5)

    /// What one attempt did.
    public struct Attempt: Sendable, Equatable {
        public var sent: Bool
        public var conditionMatched: Bool
        public var statusCode: Int?
        public var error: String?
        public var delivered: Bool { sent && (statusCode.map { (200..<300).contains($0) } ?? false) }
    }

    let store: Store
    let box: SecretBox
    let retryInitial: Duration
    let logger: Logger
    let metrics: any MetricsFactory
    private let verifying: HTTPClient
    private let insecure: HTTPClient
    private let wake = WakeSignal()
    private let inFlight = Atomic<Int>(0)
    /// Per-webhook concurrency and backoff: a dead or slow receiver never delays the others.
    let gate: WebhookGate

    init(store: Store, box: SecretBox, retryInitial: Duration, logger: Logger, metrics: any MetricsFactory) {
        self.store = store
        self.box = box
        self.retryInitial = retryInitial
        self.logger = logger
        self.metrics = metrics
        // One webhook may use all but 4 of the slots: a busy receiver still gets most of the
        // sender's throughput, and a hung one leaves 4 slots to everyone else.
        self.gate = WebhookGate(maxInFlight: Self.batch - 4, initialBackoff: min(retryInitial, .seconds(5)))
        var tls = HTTPClient.Configuration()
        tls.redirectConfiguration = .disallow
        // A refused connection fails the attempt at once instead of being retried until the
        // request's timeout (AsyncHTTPClient's default), which held a sending slot for 10 s.
        tls.connectionPool.retryConnectionEstablishment = false
        verifying = HTTPClient(eventLoopGroupProvider: .singleton, configuration: tls)
        var noVerify = tls
        noVerify.tlsConfiguration = .makeClientConfiguration()
        noVerify.tlsConfiguration?.certificateVerification = .none
        insecure = HTTPClient(eventLoopGroupProvider: .singleton, configuration: noVerify)
    }

    private let pokeCount = Atomic<Int>(0)

    /// How many times the deliverer was woken for new deliveries (diagnostics and tests).
    public var pokes: Int { pokeCount.load(ordering: .relaxed) }

    /// New deliveries are waiting (this replica wrote them or an operator asked for a redelivery).
    func poke() {
        pokeCount.add(1, ordering: .relaxed)
        wake.signal()
    }

    /// The delay before attempt `n + 1` after `n` failed attempts: initial × 2^(n−1), ±20 % jitter, at most an hour.
    func backoff(afterAttempts n: Int) -> Duration {
        let base = Double(retryInitial.components.seconds) + Double(retryInitial.components.attoseconds) / 1e18
        let seconds = min(base * pow(2, Double(max(0, n - 1))), 3600) * Double.random(in: 0.8...1.2)
        return .milliseconds(Int64(seconds * 1000))
    }

    /// Signs and sends one payload to a webhook (its condition first).
    func send(webhook w: Webhook, id: String, body: String, payload: JSONValue) async -> Attempt {
        if w.conditionValidator == .jq {
            guard let condition = try? WebhookCondition(filter: w.conditionFilter ?? "."), condition.matches(payload) else {
                return Attempt(sent: false, conditionMatched: false, statusCode: nil, error: nil)
            }
        }
        let timestamp = String(Timestamp.now().unixSeconds)
        let keyBytes: [UInt8] =
            w.secret.hasPrefix("whsec_") ? (Base64.decode(String(w.secret.dropFirst(6))) ?? []) : Array(w.secret.utf8)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: keyBytes))
        var request = HTTPClientRequest(url: w.url)
        request.method = HTTPMethod(rawValue: w.method)
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, values) in w.headers.sorted(by: { $0.key < $1.key }) {
            for (i, v) in values.enumerated() {
                if i == 0 {
                    request.headers.replaceOrAdd(name: name, value: v)
                } else {
                    request.headers.add(name: name, value: v)
                }
            }
        }
        request.headers.replaceOrAdd(name: "webhook-id", value: id)
        request.headers.replaceOrAdd(name: "webhook-timestamp", value: timestamp)
        request.headers.replaceOrAdd(name: "webhook-signature", value: "v1," + Data(mac).base64EncodedString())
        request.headers.replaceOrAdd(name: "User-Agent", value: "claiflow-webhook")
        var buffer = ByteBuffer(string: body)
        if w.contentEncoding == "gzip" {
            do {
                buffer = try buffer.compress(with: .gzip())
                request.headers.replaceOrAdd(name: "Content-Encoding", value: "gzip")
            } catch {
                return Attempt(sent: false, conditionMatched: true, statusCode: nil, error: "gzip failed: \(error)")
            }
        }
        request.body = .bytes(buffer)
        let timeout: Duration = w.timeoutSeconds > 0 ? .seconds(w.timeoutSeconds) : Self.defaultTimeout
        let start = ContinuousClock.now
        do {
            let response = try await (w.tlsVerify ? verifying : insecure).execute(request, timeout: .init(timeout))
            _ = try? await response.body.collect(upTo: 1 << 20)
            Timer(label: "claiflow_webhook_delivery_duration_seconds", factory: metrics)
                .record(duration: ContinuousClock.now - start)
            return Attempt(sent: true, conditionMatched: true, statusCode: Int(response.status.code), error: nil)
        } catch {
            return Attempt(sent: true, conditionMatched: true, statusCode: nil, error: String(describing: error))
        }
    }

    /// Claims what is due, up to the free sending slots, and hands each delivery to `spawn`;
    /// returns how many were claimed. A slow receiver holds one slot, not the whole batch.
    func deliverDue(spawn: (WebhookDelivery, Webhook?) -> Void) async throws -> Int {
        let free = Self.batch - inFlight.load(ordering: .relaxed)
        guard free > 0 else { return 0 }
        let now = Timestamp.now()
        // The lease outlives the longest timeout (5 min), so a slow attempt is never sent twice.
        let admission = gate.admission()
        let due = try await store.claimDeliveries(
            limit: free, now: now, leaseUntil: now.adding(.seconds(600)), excluding: admission.excluding,
            perWebhook: gate.maxInFlight, room: admission.room)
        guard !due.isEmpty else { return 0 }
        var hooks: [String: Webhook?] = [:]
        for uuid in Set(due.map(\.webhookUUID)) {
            // A webhook that cannot be unsealed (another key) is treated as gone: its deliveries fail.
            hooks[uuid] = try await store.webhook(uuid: uuid).flatMap { try? $0.opened(with: box) }
        }
        for d in due {
            inFlight.add(1, ordering: .relaxed)
            gate.started(d.webhookUUID)
            spawn(d, hooks[d.webhookUUID] ?? nil)
        }
        return due.count
    }

    /// Sends one claimed delivery and records its outcome; returns whether the receiver failed
    /// (nil: the attempt says nothing about the receiver), for the per-webhook gate.
    private func deliver(_ d: WebhookDelivery, _ hook: Webhook?) async -> Bool? {
        let now = Timestamp.now()
        func outcome(_ status: DeliveryStatus) {
            Counter(label: "claiflow_webhook_deliveries_total", dimensions: [("outcome", status.rawValue)], factory: metrics)
                .increment()
        }
        guard let hook else {
            try? await store.finishDelivery(
                uuid: d.uuid, status: .failed, code: nil, error: "the webhook no longer exists", nextAttempt: nil, now: now)
            outcome(.failed)
            return nil
        }
        let payload = (try? JSONValue.parse(d.payload)) ?? .null
        let attempt = await send(webhook: hook, id: d.uuid, body: d.payload, payload: payload)
        let status: DeliveryStatus
        var next: Timestamp?
        var error = attempt.error
        if !attempt.conditionMatched {
            status = .skipped
        } else if attempt.delivered {
            status = .delivered
        } else {
            if error == nil, let code = attempt.statusCode { error = "the receiver answered \(code)" }
            if d.attempts >= Self.maxAttempts {
                status = .failed
            } else {
                status = .pending
                let delay = backoff(afterAttempts: d.attempts)
                next = now.adding(
                    GoDuration(
                        nanoseconds: delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000))
            }
        }
        do {
            try await store.finishDelivery(
                uuid: d.uuid, status: status, code: attempt.statusCode, error: error, nextAttempt: next, now: Timestamp.now())
        } catch {
            logger.warning(
                "could not record a webhook delivery", metadata: ["delivery": .string(d.uuid), "error": .string("\(error)")])
        }
        outcome(status)
        if status == .failed {
            logger.warning(
                "webhook delivery failed for good",
                metadata: ["webhook": .string(hook.uuid), "delivery": .string(d.uuid), "error": .string(error ?? "")])
        }
        guard attempt.sent && attempt.conditionMatched else { return nil }
        if attempt.delivered { return false }
        guard let code = attempt.statusCode else { return true }  // refused, reset, timeout, TLS
        return code >= 500 || code == 429 ? true : nil
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var handled = 0
                do {
                    handled = try await deliverDue { d, hook in
                        group.addTask {
                            let receiverFailed = await self.deliver(d, hook)
                            self.gate.finished(d.webhookUUID, receiverFailed: receiverFailed)
                            self.inFlight.subtract(1, ordering: .relaxed)
                            self.poke()  // the service's next event may be due now, and a slot is free
                        }
                    }
                } catch {
                    logger.warning("webhook delivery round failed", metadata: ["error": .string("\(error)")])
                }
                if handled > 0 { continue }
                // Nothing to claim now: sleep until the next due delivery (re-read every few
                // seconds, for other replicas' writes) or until poked.
                var wait: Duration = .seconds(5)
                if let queue = try? await store.deliveryQueue() {
                    Gauge(label: "claiflow_webhook_queue_depth", factory: metrics).record(queue.depth)
                    // A delivery due already but not claimed waits behind its service's attempt in
                    // flight or its webhook's gate: an attempt's end pokes, a gate's backoff ends below.
                    if let next = queue.next, next > Timestamp.now() {
                        let ms = (next.microseconds - Timestamp.now().microseconds) / 1000
                        wait = min(wait, .milliseconds(max(1, ms)))
                    }
                }
                if let unblock = gate.nextUnblock() {
                    wait = min(wait, max(.milliseconds(1), unblock - .now))
                }
                if inFlight.load(ordering: .relaxed) >= Self.batch { wait = .seconds(5) }
                // Sleep (no queries) until the next due delivery, a poke or shutdown.
                if wait > .zero {
                    let wake = self.wake
                    await withGracefulShutdownHandler {
                        await wake.wait(timeout: wait)
                    } onGracefulShutdown: {
                        wake.signal()
                    }
                }
            }
            // Shutting down: attempts in flight get a short grace to finish, then are cancelled
            // (recorded as failed attempts and retried later), so that a receiver that hangs cannot
            // hold the shutdown for the webhook's whole timeout.
            let deadline = ContinuousClock.now + Self.shutdownGrace
            while inFlight.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
                await wake.wait(timeout: deadline - .now)
            }
            group.cancelAll()
        }
        try? await verifying.shutdown()
        try? await insecure.shutdown()
    }
}
