import ClaiflowCore
import ClaiflowStore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The one background job per replica that ends or requeues services whose deadline passed
/// (leases of stopped agents, the validity period). It sleeps until the earliest deadline it
/// knows of — learned from this replica's own claims, reports and creates, and re-read from the
/// database every ``refreshInterval`` to learn other replicas' — so an idle server costs no
/// queries but that one. Safe with several replicas: every change is one atomic UPDATE.
final class DispatchSweeper: ServiceLifecycle.Service, Sendable {
    static let refreshInterval: Duration = .seconds(30)
    static let tick: Duration = .milliseconds(250)

    private let store: Store
    private let settings: SettingsCache
    private let hub: DispatchHub
    private let deliverer: WebhookDeliverer
    private let logger: Logger
    private let metrics: any MetricsFactory
    /// How long past a service's timeout it may still run before the sweep fails it.
    let timeoutGrace: GoDuration
    private let next = Mutex<Timestamp?>(nil)

    init(
        store: Store, settings: SettingsCache, hub: DispatchHub, deliverer: WebhookDeliverer, logger: Logger,
        metrics: any MetricsFactory, timeoutGrace: GoDuration = .seconds(30)
    ) {
        self.timeoutGrace = timeoutGrace
        self.store = store
        self.settings = settings
        self.hub = hub
        self.deliverer = deliverer
        self.logger = logger
        self.metrics = metrics
    }

    /// Something will be due at `deadline` (a lease, a validity period).
    func note(deadline: Timestamp) {
        next.withLock { n in n = min(n ?? deadline, deadline) }
    }

    /// Runs one sweep now; returns the changes (also used by tests and the benchmark).
    @discardableResult
    func sweep() async throws -> [StatusChange] {
        let s = settings.settings
        let now = Timestamp.now()
        let changes = try await store.sweep(
            now: now, validAfter: now.adding(GoDuration(nanoseconds: -s.serviceValidityPeriod.nanoseconds)),
            maxAttempts: AgentUseCases.maxAttempts, timeoutGrace: timeoutGrace)
        if !changes.isEmpty {
            deliverer.poke()
            let requeued = changes.filter { $0.record.status == .regist }.map(\.service.clusterUUID)
            if !requeued.isEmpty {
                hub.wake(clusters: requeued)
                try? await store.publish(requeued.map { .wake(cluster: $0) })
            }
            for c in changes {
                Counter(label: "claiflow_dispatch_swept_total", dimensions: [("to", c.record.status.name)], factory: metrics)
                    .increment()
                logger.info(
                    "service deadline passed",
                    metadata: [
                        "cluster_uuid": .string(c.service.clusterUUID), "service_uuid": .string(c.service.uuid),
                        "status": .string(c.record.status.name), "reason": .string(c.record.message ?? ""),
                    ])
            }
        }
        return changes
    }

    private func refreshDeadline() async {
        do {
            let d = try await store.nextDeadline(validity: settings.settings.serviceValidityPeriod, timeoutGrace: timeoutGrace)
            next.withLock { $0 = d }
        } catch {
            logger.warning("dispatch sweeper could not read deadlines", metadata: ["error": .string("\(error)")])
        }
    }

    func run() async throws {
        await refreshDeadline()
        var lastRefresh = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.tick) }
            } catch {
                return
            }
            if ContinuousClock.now - lastRefresh >= Self.refreshInterval {
                await refreshDeadline()
                lastRefresh = ContinuousClock.now
            }
            guard let due = next.withLock({ $0 }), due <= Timestamp.now() else { continue }
            do {
                try await sweep()
                await refreshDeadline()
                lastRefresh = ContinuousClock.now
            } catch {
                logger.warning("dispatch sweep failed", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
