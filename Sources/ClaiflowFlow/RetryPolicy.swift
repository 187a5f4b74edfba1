import ClaiflowJQ

/// `"$retry": {"max_attempts": 3, "backoff": "2s", "factor": 2, "max_backoff": "1m", "jitter": 0.2, "until": "<jq>"}`.
///
/// Attempt `n + 1` starts `backoff × factor^(n-1)` after attempt `n` ended, at most
/// `max_backoff`, shortened by a random fraction up to `jitter` (0 … 1) so that many agents
/// retrying the same service do not move in step.
struct RetryPolicy: Sendable {
    /// The most attempts, the first included (≥ 1).
    var maxAttempts: Int
    /// The delay after the first failed attempt.
    var backoff: Duration
    /// What each delay is multiplied by for the next one (≥ 1).
    var factor: Double
    /// The longest delay.
    var maxBackoff: Duration?
    /// The largest fraction (0 … 1) randomly taken off a delay.
    var jitter: Double
    /// A jq program over the command's outputs: an attempt whose outputs make it false or
    /// null (or produce nothing) is retried like a failed one.
    var until: JQProgram?

    static let defaultMaxAttempts = 3
    static let defaultBackoff: Duration = .seconds(1)
    static let defaultFactor = 2.0
    static let defaultJitter = 0.2

    /// The delay before attempt `attempt + 1`, with `random` in 0 ..< 1 choosing the jitter.
    func delay(after attempt: Int, random: Double) -> Duration {
        var seconds = Self.seconds(backoff) * power(factor, Double(max(attempt - 1, 0)))
        if let maxBackoff { seconds = min(seconds, Self.seconds(maxBackoff)) }
        seconds *= 1 - jitter * min(max(random, 0), 1)
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .nanoseconds(Int64(min(seconds, 86_400 * 365) * 1e9))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// `base` raised to a small non-negative integer power (no Foundation in this module).
    private func power(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var n = Int(exponent)
        while n > 0 && result.isFinite {
            result *= base
            n -= 1
        }
        return result
    }
}
