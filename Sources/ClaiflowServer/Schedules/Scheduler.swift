import ClaiflowCore
import Logging
import Metrics
import ServiceLifecycle

/// The scheduler of one replica: runs ``ScheduleUseCases/tick(now:)``, then sleeps until the
/// earliest next tick, at most ``maxSleep`` (so that schedules created or changed on other
/// replicas are seen), woken at once when a schedule is created or changed on this replica.
/// Every replica runs one; each tick still starts one run (the tick is claimed in the database).
/// `claiflow_schedule_ticks_total{outcome}` counts the ticks this replica started, skipped, or
/// found claimed by another replica (`lost`).
struct Scheduler: ServiceLifecycle.Service {
    /// The longest sleep between two steps.
    static let maxSleep: Duration = .seconds(30)
    /// The sleep after a step that failed.
    static let retryDelay: Duration = .seconds(5)

    let useCases: ScheduleUseCases
    let wake: WakeSignal
    let logger: Logger
    let metrics: any MetricsFactory

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var wait = Self.maxSleep
            do {
                let report = try await useCases.tick(now: .now())
                for (outcome, n) in [("started", report.started), ("skipped", report.skipped), ("lost", report.lost)] where n > 0
                {
                    Counter(label: "claiflow_schedule_ticks_total", dimensions: [("outcome", outcome)], factory: metrics)
                        .increment(by: n)
                }
                if let next = report.next {
                    let micros = next.microseconds - Timestamp.now().microseconds
                    wait = min(wait, .microseconds(max(micros, 1000)))
                }
            } catch {
                logger.warning("scheduler step failed", metadata: ["error": .string("\(error)")])
                wait = Self.retryDelay
            }
            let wake = self.wake
            await withGracefulShutdownHandler {
                await wake.wait(timeout: wait)
            } onGracefulShutdown: {
                wake.signal()
            }
        }
    }
}
