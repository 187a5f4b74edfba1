import Logging
import Metrics
import Synchronization

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
    private let headerTimeoutCount = Atomic<Int>(0)
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
    func noteHeaderTimeout() {
        headerTimeoutCount.add(1, ordering: .relaxed)
        headerTimeoutCounter.increment()
    }

    /// The connections closed so far because their request head did not arrive in time.
    var headerTimeouts: Int { headerTimeoutCount.load(ordering: .relaxed) }

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
    /// (`RLIMIT_NOFILE`, which `claiflow server` raises to its hard limit at start-up), leaving the
    /// rest to the database, webhooks and the gRPC port, and at most ``defaultCap``.
    static func defaultMaximum() -> Int {
        defaultMaximum(openFiles: OpenFileLimit.current)
    }

    /// The HTTP port's listen backlog: connections the kernel completes before the server accepts
    /// them. Thousands of agents reconnect at once after a restart; with Hummingbird's default
    /// of 256 the kernel drops their SYNs past the first few hundred and each dropped client
    /// waits for its retransmission (1 s, 3 s, 7 s…). Linux caps the value at
    /// `net.core.somaxconn` (4,096 by default since 5.4).
    static let listenBacklog = 65_535

    /// The default cap for a given open-file limit (nil: unknown).
    static func defaultMaximum(openFiles: Int?) -> Int {
        guard let files = openFiles else { return defaultCap }
        return max(16, min(defaultCap, files / 4 * 3))
    }

    /// The most connections the default allows whatever the open-file limit: 50,000, room for
    /// 10,000 parked agents (one connection each) five times over. At ~45 KB of server memory
    /// per parked poll (docs/benchmarks.md) a full cap of parked polls needs about 2.3 GB.
    static let defaultCap = 50_000
}
