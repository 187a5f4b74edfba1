import Logging
import Synchronization

/// Sends this replica's events to every replica (PostgreSQL `NOTIFY`) after the commits that
/// cause them, coalesced.
///
/// PostgreSQL serializes the commits of the transactions that sent a notification (a
/// database-wide lock is taken before the commit record and held until it is flushed), so a
/// `NOTIFY` inside each write transaction made every create commit alone, with no group
/// commit. Here the writes send none: their events are queued after the commit, and one
/// publish at a time sends everything queued since the previous one, in one statement on a
/// pooled connection. Writes never wait for it, and only this publisher (one per replica)
/// takes the notification lock.
///
/// A crash between a commit and its publish loses that commit's events. Status events are
/// hints (a watcher re-reads on `event: reset` or a reconnection); a lost wake-up delays an
/// agent parked on another replica until its poll's `wait` runs out and it polls again.
final class EventPublisher: Sendable {
    /// Sends payloads in order, as one transaction.
    typealias Send = @Sendable ([String]) async throws -> Void

    private struct State {
        /// Payloads waiting, in order, each once.
        var payloads: [String] = []
        var queued: Set<String> = []
        /// Status events waiting (sent as few `status:` payloads as fit).
        var status: [StatusEvent] = []
        /// The publish running now, if any.
        var running: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let send: Send
    private let logger: Logger
    private let published = Mutex(0)

    /// A publisher that sends with `send`.
    init(logger: Logger, send: @escaping Send) {
        self.logger = logger
        self.send = send
    }

    /// Publishes events soon. Returns at once: when a publish is running, they go with the next.
    func enqueue(_ events: [DispatchEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { s in
            for e in events {
                if case .status(let list) = e {
                    s.status += list
                } else if s.queued.insert(e.payload).inserted {
                    s.payloads.append(e.payload)
                }
            }
            guard s.running == nil else { return }
            s.running = Task { await self.drain() }
        }
    }

    /// How many publishes (statements) ran since the start.
    var publishes: Int { published.withLock { $0 } }

    /// Waits until everything enqueued before the call was sent (or failed).
    func flush() async {
        while let task = state.withLock({ $0.running }) { await task.value }
    }

    private func drain() async {
        while true {
            let batch: [String]? = state.withLock { s in
                guard !s.payloads.isEmpty || !s.status.isEmpty else {
                    s.running = nil
                    return nil
                }
                defer { s = State(running: s.running) }
                return s.payloads + DispatchEvent.status(chunking: s.status).map(\.payload)
            }
            guard let batch else { return }
            do {
                try await send(batch)
                published.withLock { $0 += 1 }
            } catch {
                logger.warning(
                    "events not published", metadata: ["error": .string("\(error)"), "payloads": "\(batch.count)"])
            }
        }
    }
}
