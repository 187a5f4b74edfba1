import ClaiflowCore
import ClaiflowStore
import Logging
import Metrics
import ServiceLifecycle

/// Deletes what ended longer than the retention period ago (`--retention`): finished services
/// with their history and result, finished webhook deliveries, expired sessions. Runs a minute
/// after start, then every hour, in batches of short transactions; several replicas may run it
/// at once (deleting is idempotent).
struct RetentionSweeper: ServiceLifecycle.Service {
    static let firstRun: Duration = .seconds(60)
    static let interval: Duration = .seconds(3600)
    static let batch = 1000

    let store: Store
    let retention: GoDuration
    let logger: Logger
    let metrics: any MetricsFactory

    func run() async throws {
        var wait = Self.firstRun
        while true {
            let delay = wait
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: delay) })) != nil else { return }
            wait = Self.interval
            do {
                try await pruneOnce()
            } catch {
                logger.warning("retention pass failed; retrying in an hour", metadata: ["error": .string("\(error)")])
            }
        }
    }

    /// Deletes everything that is due now, batch by batch; returns the totals.
    @discardableResult
    func pruneOnce(now: Timestamp = .now()) async throws -> PruneCounts {
        let before = now.adding(GoDuration(nanoseconds: -retention.nanoseconds))
        var total = PruneCounts()
        while !Task.isShuttingDownGracefully {
            let c = try await store.pruneEnded(before: before, limit: Self.batch)
            total.services += c.services
            total.deliveries += c.deliveries
            total.sessions += c.sessions
            for (kind, n) in [("service", c.services), ("webhook_delivery", c.deliveries), ("session", c.sessions)] where n > 0 {
                Counter(label: "claiflow_retention_pruned_total", dimensions: [("kind", kind)], factory: metrics).increment(by: n)
            }
            if max(c.services, c.deliveries, c.sessions) < Self.batch { break }
        }
        if total.total > 0 {
            logger.notice(
                "retention: deleted what ended before \(before.rfc3339)",
                metadata: [
                    "services": .stringConvertible(total.services), "webhook_deliveries": .stringConvertible(total.deliveries),
                    "sessions": .stringConvertible(total.sessions),
                ])
        }
        return total
    }
}
