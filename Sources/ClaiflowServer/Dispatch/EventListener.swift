import ClaiflowStore
import Logging
import ServiceLifecycle

/// Receives the other replicas' events (PostgreSQL `LISTEN`): wake-ups for new or requeued
/// services, and token or cluster changes that end parked polls.
struct EventListener: ServiceLifecycle.Service {
    let store: Store
    let events: DispatchEvents
    let logger: Logger

    func run() async throws {
        // A service that returns ends the whole group, so this one lives until shutdown even
        // when there is nothing to listen to (SQLite).
        let events = self.events
        await cancelWhenGracefulShutdown {
            await store.listenForEvents(logger: logger, onConnect: { events.eventsMayHaveBeenMissed() }) { event in
                events.apply(event)
            }
        }
        try? await gracefulShutdown()
    }
}
