import Foundation
import Logging
import Metrics
import Synchronization

/// Sends this replica's events to every replica (PostgreSQL `NOTIFY`) after the commits that
/// cause them, coalesced.
///
/// PostgreSQL serializes the commits of the transactions that sent a notification (a
/// database-wide lock is taken before the commit record and held until it is flushed), so a
/// `NOTIFY` inside each write transaction made every create commit alone, with no group
/// commit. Here the writes send none: their events are queued after the commit, and one
/// publish at a time sends everything queued since the previous one, in statements of at most
/// ``Limits/maxPayloadsPerSend`` payloads on a pooled connection. Writes never wait for it, and
/// only this publisher (one per replica) takes the notification lock.
///
/// A send that fails for its connection or the pool (or gets no answer within
/// ``Limits/sendTimeout``) runs again a few times, ahead of newer events; one that still fails
/// is dropped, and the next publish first sends ``DispatchEvent/eventsMissed(replica:)`` so that
/// every replica trusts none of its "known empty" marks. A crash between a commit and its
/// publish loses that commit's events. Status events are hints (a watcher re-reads on
/// `event: reset` or a reconnection); a lost wake-up delays an agent parked on another replica
/// until its poll's `wait` runs out and the cluster's "known empty" mark expires.
final class EventPublisher: Sendable {
    /// Sends payloads in order, as one transaction.
    typealias Send = @Sendable ([String]) async throws -> Void

    /// A send's failure that running it again may cure: the connection or the pool failed, or
    /// there was no answer in time (not an error PostgreSQL answered the statement with).
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// The publisher's bounds.
    struct Limits: Sendable {
        /// How long one send may take before it counts as failed (and runs again).
        var sendTimeout: Duration = .seconds(5)
        /// How often an ``Unavailable`` send runs again before its events are dropped.
        var retries = 3
        /// The pause before the first retry, doubled before each next one.
        var backoff: Duration = .milliseconds(100)
        /// The most status events waiting; beyond, the oldest are dropped.
        var maxQueuedStatus = 10_000
        /// The most payloads one statement sends.
        var maxPayloadsPerSend = 500
        /// Dropped events are logged at most once in this interval, with their count.
        var dropLogInterval: Duration = .seconds(10)
    }

    private struct State {
        /// Payloads waiting, in order, each once.
        var payloads: [String] = []
        var queued: Set<String> = []
        /// Status events waiting (sent as few `status:` payloads as fit).
        var status: [StatusEvent] = []
        /// The publish running now, if any.
        var running: Task<Void, Never>?
        /// Events the running publish took and has not sent yet.
        var inFlight = 0
        /// Events were dropped: the next publish starts with ``DispatchEvent/eventsMissed(replica:)``.
        var missed = false
        /// Closed: nothing more is sent.
        var closed = false
        /// Events dropped and not logged yet; when the last drop was logged.
        var unloggedDrops = 0
        var lastDropLog: ContinuousClock.Instant?
    }

    private struct Counters {
        var publishes = 0
        var published = 0
        var failed = 0
        var dropped = 0
    }

    private let state = Mutex(State())
    private let counters = Mutex(Counters())
    private let send: Send
    private let logger: Logger
    private let limits: Limits
    private let metrics: (any MetricsFactory)?
    /// Names this replica in its ``DispatchEvent/eventsMissed(replica:)`` events.
    let replica = UUID().uuidString.lowercased()

    /// A publisher that sends with `send`, within `limits`; `metrics` counts the events
    /// published, the sends that failed and the events dropped when given.
    init(logger: Logger, limits: Limits = Limits(), metrics: (any MetricsFactory)? = nil, send: @escaping Send) {
        self.logger = logger
        self.limits = limits
        self.metrics = metrics
        self.send = send
    }

    /// Publishes events soon. Returns at once: when a publish is running, they go with the next.
    func enqueue(_ events: [DispatchEvent]) {
        guard !events.isEmpty else { return }
        var payloads: [String] = []
        var status: [StatusEvent] = []
        for e in events {
            if case .status(let list) = e { status += list } else { payloads.append(e.payload) }
        }
        let (dropped, closed) = state.withLock { s -> (Int, Bool) in
            if s.closed { return (payloads.count + status.count, true) }
            for p in payloads where s.queued.insert(p).inserted { s.payloads.append(p) }
            s.status += status
            let excess = s.status.count - limits.maxQueuedStatus
            if excess > 0 { s.status.removeFirst(excess) }
            if s.running == nil { s.running = Task.detached { await self.drain() } }
            return (max(0, excess), false)
        }
        noteDropped(dropped, reason: closed ? "the store is closed" : "too many status events waiting")
    }

    /// How many publishes (statements) ran since the start.
    var publishes: Int { counters.withLock { $0.publishes } }

    /// How many events were sent, how many sends failed (retries included) and how many events
    /// were dropped (a `status:` payload counts as its status events), since the start.
    var counts: (published: Int, failed: Int, dropped: Int) {
        counters.withLock { ($0.published, $0.failed, $0.dropped) }
    }

    /// Waits until everything enqueued before the call was sent (or failed).
    func flush() async {
        while let task = state.withLock({ $0.running }) { await task.value }
    }

    /// Waits until everything enqueued was sent, at most `timeout`; then sends nothing more.
    /// Returns how many events were not sent (and logs them).
    @discardableResult
    func close(waiting timeout: Duration) async -> Int {
        let flushed = (try? await Self.within(timeout) { await self.flush() }) != nil
        let pending = state.withLock { s in
            s.closed = true
            let n = s.payloads.count + s.status.count + s.inFlight
            (s.payloads, s.queued, s.status, s.inFlight) = ([], [], [], 0)
            return flushed ? 0 : n
        }
        if pending > 0 {
            counters.withLock { $0.dropped += pending }
            count("claiflow_events_dropped_total", pending)
            logger.warning("events not published at close", metadata: ["events": "\(pending)"])
        }
        return pending
    }

    private func drain() async {
        while true {
            let taken = state.withLock { s -> (payloads: [String], status: [StatusEvent], missed: Bool)? in
                guard !s.closed, !s.payloads.isEmpty || !s.status.isEmpty else {
                    s.running = nil
                    return nil
                }
                defer { (s.payloads, s.queued, s.status, s.missed) = ([], [], [], false) }
                s.inFlight = s.payloads.count + s.status.count
                return (s.payloads, s.status, s.missed)
            }
            guard let taken else { return }
            // Each payload with the number of events it carries.
            var batch = taken.payloads.map { ($0, 1) }
            batch += DispatchEvent.status(chunking: taken.status).map { e in
                if case .status(let list) = e { return (e.payload, list.count) }
                return (e.payload, 0)
            }
            if taken.missed { batch.insert((DispatchEvent.eventsMissed(replica: replica).payload, 0), at: 0) }
            var start = 0
            while start < batch.count {
                let slice = batch[start..<min(start + limits.maxPayloadsPerSend, batch.count)]
                let events = slice.reduce(0) { $0 + $1.1 }
                do {
                    try await sendRetrying(slice.map(\.0))
                } catch {
                    let lost = batch[start...].reduce(0) { $0 + $1.1 }
                    // Once closed, ``close(waiting:)`` counted them already.
                    let closed = state.withLock { s in
                        s.inFlight = 0
                        if !s.closed { s.missed = true }
                        return s.closed
                    }
                    if !closed { noteDropped(lost, reason: "\(error)") }
                    break
                }
                counters.withLock {
                    $0.publishes += 1
                    $0.published += events
                }
                count("claiflow_events_published_total", events)
                state.withLock { $0.inFlight = max(0, $0.inFlight - events) }
                start = slice.endIndex
            }
            state.withLock { $0.inFlight = 0 }
        }
    }

    /// Sends, running an ``Unavailable`` send again up to ``Limits/retries`` times after a
    /// growing pause (the same payloads: a timed-out send that arrives late sends them twice,
    /// which is harmless for these hints).
    private func sendRetrying(_ payloads: [String]) async throws {
        var attempt = 0
        while true {
            do {
                let send = self.send
                return try await Self.within(limits.sendTimeout) { try await send(payloads) }
            } catch {
                counters.withLock { $0.failed += 1 }
                count("claiflow_event_sends_failed_total", 1)
                guard error is Unavailable, attempt < limits.retries, !state.withLock({ $0.closed }) else { throw error }
                try? await Task.sleep(for: limits.backoff * (1 << attempt))
                attempt += 1
            }
        }
    }

    /// Counts dropped events; logs them at most once per ``Limits/dropLogInterval``, with the
    /// count since the last log.
    private func noteDropped(_ n: Int, reason: String) {
        guard n > 0 else { return }
        counters.withLock { $0.dropped += n }
        count("claiflow_events_dropped_total", n)
        let now = ContinuousClock.now
        let due: Int? = state.withLock { s in
            s.unloggedDrops += n
            if let last = s.lastDropLog, now - last < limits.dropLogInterval { return nil }
            s.lastDropLog = now
            defer { s.unloggedDrops = 0 }
            return s.unloggedDrops
        }
        if let due {
            logger.warning("events not published", metadata: ["events": "\(due)", "reason": .string(reason)])
        }
    }

    private func count(_ label: String, _ n: Int) {
        guard let metrics else { return }
        Counter(label: label, factory: metrics).increment(by: n)
    }

    /// Runs `body` in a task of its own and returns when it does, or throws ``Unavailable`` once
    /// `timeout` has passed (the task is cancelled and left to end by itself).
    static func within(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let race = Race()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            race.start(c)
            let work = Task.detached {
                let result: Result<Void, any Error>
                do {
                    try await body()
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                race.finish(result)
            }
            let timer = Task.detached {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                if race.finish(.failure(Unavailable(description: "no answer within \(timeout)"))) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// The continuation of ``within(_:_:)``, resumed once, by whichever ends first.
    private final class Race: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var onFinish: (@Sendable () -> Void)?
            var finished = false
        }
        private let state = Mutex(State())

        func start(_ c: CheckedContinuation<Void, any Error>) { state.withLock { $0.continuation = c } }

        /// Runs `action` when the race ends (at once if it has).
        func onFinish(_ action: @escaping @Sendable () -> Void) {
            let now = state.withLock { s in
                if s.finished { return true }
                s.onFinish = action
                return false
            }
            if now { action() }
        }

        /// Resumes with `result` if nothing did before; returns whether this call did.
        @discardableResult
        func finish(_ result: Result<Void, any Error>) -> Bool {
            let (c, action) = state.withLock { s -> (CheckedContinuation<Void, any Error>?, (@Sendable () -> Void)?) in
                guard !s.finished else { return (nil, nil) }
                s.finished = true
                defer { (s.continuation, s.onFinish) = (nil, nil) }
                return (s.continuation, s.onFinish)
            }
            guard let c else { return false }
            c.resume(with: result)
            action?()
            return true
        }
    }
}
