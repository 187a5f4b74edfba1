import Synchronization

/// One replica's per-webhook limits on sending, so that a dead or slow receiver never delays the
/// deliveries to the others: at most ``maxInFlight`` attempts of one webhook at once (a receiver
/// that hangs until the timeout holds that many of the sender's slots, not all of them), and
/// after a receiver failure — connection refused or reset, timeout, 5xx or 429 — the webhook's
/// other deliveries wait out a per-webhook backoff that doubles with each consecutive failure
/// (one probe attempt at a time after it) and resets on the first success.
final class WebhookGate: Sendable {
    /// Attempts of one webhook in flight at once on this replica.
    let maxInFlight: Int
    /// The first per-webhook backoff; it doubles per consecutive failure up to ``maxBackoff``.
    let initialBackoff: Duration
    let maxBackoff: Duration

    private struct State {
        var inFlight = 0
        var failures = 0
        var blockedUntil: ContinuousClock.Instant?
    }
    private let states = Mutex<[String: State]>([:])

    init(maxInFlight: Int, initialBackoff: Duration, maxBackoff: Duration = .seconds(60)) {
        self.maxInFlight = maxInFlight
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// What a claim may take now: webhooks to leave out (backing off, or at their limit) and how
    /// many more attempts each webhook with attempts in flight may start.
    func admission(now: ContinuousClock.Instant = .now) -> (excluding: Set<String>, room: [String: Int]) {
        states.withLock { states in
            var excluding = Set<String>()
            var room: [String: Int] = [:]
            for (uuid, s) in states {
                if let until = s.blockedUntil, until > now {
                    excluding.insert(uuid)
                } else if s.failures > 0 {
                    // Backoff over: one probe at a time until a success.
                    if s.inFlight > 0 { excluding.insert(uuid) } else { room[uuid] = 1 }
                } else if s.inFlight >= maxInFlight {
                    excluding.insert(uuid)
                } else if s.inFlight > 0 {
                    room[uuid] = maxInFlight - s.inFlight
                }
            }
            return (excluding, room)
        }
    }

    /// An attempt of `webhook` starts.
    func started(_ webhook: String) {
        states.withLock { $0[webhook, default: State()].inFlight += 1 }
    }

    /// An attempt of `webhook` ended: `receiverFailed` true for a failure of the receiver (backs
    /// the webhook off), false for a success, nil when the attempt says nothing about the receiver
    /// (condition not matched, the webhook is gone, a 4xx for this payload).
    func finished(_ webhook: String, receiverFailed: Bool?, now: ContinuousClock.Instant = .now) {
        states.withLock { states in
            var s = states[webhook, default: State()]
            s.inFlight = max(0, s.inFlight - 1)
            switch receiverFailed {
            case true?:
                s.failures += 1
                let factor = Double(1 << min(s.failures - 1, 20))
                s.blockedUntil = now + min(initialBackoff * factor, maxBackoff)
            case false?:
                s.failures = 0
                s.blockedUntil = nil
            case nil:
                break
            }
            if s.inFlight == 0 && s.failures == 0 {
                states[webhook] = nil
            } else {
                states[webhook] = s
            }
        }
    }

    /// Ends a webhook's backoff (an operator redelivers: the receiver is probably back).
    func forgetFailures(of webhook: String) {
        states.withLock { states in
            guard var s = states[webhook] else { return }
            s.failures = 0
            s.blockedUntil = nil
            states[webhook] = s.inFlight == 0 ? nil : s
        }
    }

    /// The earliest moment a backed-off webhook may be tried again, if any is backing off.
    func nextUnblock(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        states.withLock { states in states.values.compactMap(\.blockedUntil).filter { $0 > now }.min() }
    }
}
