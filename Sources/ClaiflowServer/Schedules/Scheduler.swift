import ClaiflowCore
import Logging
import ServiceLifecycle

/// The scheduler of one replica: runs ``ScheduleUseCases/tick(now:)``, then sleeps until the
/// earliest next tick, at most ``maxSleep`` (so that schedules created or changed on other
/// replicas are seen), woken at once when a schedule is created or changed on this replica.
/// Every replica runs one; each tick still starts one run (the tick is claimed in the database).
struct Scheduler: ServiceLifecycle.Service {
    /// The longest sleep between two steps.
    static let maxSleep: Duration = .seconds(30)
    /// The sleep after a step that failed.
    static let retryDelay: Duration = .seconds(5)

    let useCases: ScheduleUseCases
    let wake: WakeSignal
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var wait = Self.maxSleep
            do {
                let report = try await useCases.tick(now: .now())
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
