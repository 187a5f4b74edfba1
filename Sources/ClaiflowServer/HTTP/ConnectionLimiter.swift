import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the open HTTP connections and refuses new ones past ``maximum``.
///
/// A refused connection is closed at once (after a `503`), so a flood of connections that never
/// finish their request cannot use up the process's file descriptors: the database, the webhook
/// client and the agents' connections keep theirs. One warning line per ``logInterval`` says
/// how many connections were refused since the last one.
final class ConnectionLimiter: Sendable {
    /// The most connections open at once.
    let maximum: Int
    /// How often at most the "limit reached" warning is logged.
    static let logInterval: Duration = .seconds(10)

    private let open = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    private let refusals = Mutex(Refusals())
    private let logger: Logger
    private let openGauge: Gauge
    private let refusedCounter: Counter
    private let headerTimeoutCounter: Counter

    private struct Refusals {
        var lastLogged: ContinuousClock.Instant?
        var sinceLogged = 0
    }

    init(maximum: Int, logger: Logger, metrics: any MetricsFactory) {
        self.maximum = maximum
        self.logger = logger
        self.openGauge = Gauge(label: "claiflow_http_connections", factory: metrics)
        self.refusedCounter = Counter(label: "claiflow_http_connections_refused_total", factory: metrics)
        self.headerTimeoutCounter = Counter(label: "claiflow_http_header_timeouts_total", factory: metrics)
    }

    /// The connections open now.
    var openConnections: Int { open.load(ordering: .relaxed) }

    /// The most connections that were open at once.
    var peakConnections: Int { peak.load(ordering: .relaxed) }

    /// Counts a new connection; false (and nothing counted) when ``maximum`` are open already.
    func admit() -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        if count <= maximum {
            openGauge.record(count)
            var seen = peak.load(ordering: .relaxed)
            while count > seen {
                let (exchanged, original) = peak.compareExchange(expected: seen, desired: count, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
            return true
        }
        open.subtract(1, ordering: .relaxed)
        refusedCounter.increment()
        noteRefusal()
        return false
    }

    /// Uncounts a connection that ``admit()`` counted.
    func release() {
        openGauge.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    /// Counts a connection closed because its request head did not arrive in time.
    func noteHeaderTimeout() { headerTimeoutCounter.increment() }

    private func noteRefusal() {
        let now = ContinuousClock.now
        let refused = refusals.withLock { r -> Int? in
            r.sinceLogged += 1
            if let last = r.lastLogged, now - last < Self.logInterval { return nil }
            defer { (r.lastLogged, r.sinceLogged) = (now, 0) }
            return r.sinceLogged
        }
        guard let refused else { return }
        logger.warning(
            "connection limit reached: new HTTP connections are closed at once",
            metadata: [
                "max_connections": .stringConvertible(maximum), "refused": .stringConvertible(refused),
                "hint": "raise --max-connections (and the open-file limit) if these are real clients",
            ])
    }

    /// The default of `max_connections`: three quarters of the process's open-file limit
    /// (`RLIMIT_NOFILE`), leaving the rest to the database, webhooks and the gRPC port, and at
    /// most 10,000.
    static func defaultMaximum() -> Int {
        let cap = 10_000
        var limit = rlimit()
        #if canImport(Glibc)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        let status = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        guard status == 0 else { return cap }
        // RLIM_INFINITY (all bits set) clamps to Int.max.
        let files = Int(clamping: limit.rlim_cur)
        return max(16, min(cap, files / 4 * 3))
    }
}
