import ClaiflowCore
import Logging

/// Cross-replica events on PostgreSQL (`LISTEN`/`NOTIFY` on one channel). On SQLite there is one
/// process, so nothing is sent and nothing is listened to.
extension Store {
    /// The channel claiflow's events travel on.
    public static let eventChannel = "claiflow_events"

    /// Sends events caused by a write transaction's statements to every replica (PostgreSQL
    /// only): queued when, and only if, the transaction commits, and published by the
    /// ``EventPublisher`` soon after (not inside the transaction).
    static func notify(_ db: any SQLExecutor, _ events: [DispatchEvent]) {
        guard db.dialect == .postgres, !events.isEmpty else { return }
        guard let collecting = db as? EventCollectingExecutor else {
            return assertionFailure("events of a PostgreSQL write outside Store.write(_:_:) are lost")
        }
        collecting.collector.add(events)
    }

    /// Publishes events outside of a transaction (PostgreSQL only): queued for the
    /// ``EventPublisher``, which sends them soon; returns without waiting for it.
    public func publish(_ events: [DispatchEvent]) async throws {
        announce(events)
    }

    /// How many `NOTIFY` statements this store's publisher ran (each sends every event queued
    /// while the one before it ran).
    public var eventPublishes: Int { publisher?.publishes ?? 0 }

    /// Receives events published by any replica until the task is cancelled, reconnecting after
    /// errors. Returns at once on SQLite.
    /// `onConnect` runs each time listening (re)starts: events may have been missed before it.
    /// A payload this version does not know is logged and skipped.
    public func listenForEvents(
        logger: Logger, onConnect: @escaping @Sendable () async -> Void = {},
        _ handler: @escaping @Sendable (DispatchEvent) async -> Void
    ) async {
        guard let pg = database as? PostgresDatabase else { return }
        while !Task.isCancelled {
            do {
                try await pg.listen(channel: Self.eventChannel, onConnect: onConnect) { payload in
                    guard let event = DispatchEvent(payload: payload) else {
                        logger.warning("unknown event ignored", metadata: ["payload": .string(String(payload.prefix(200)))])
                        return
                    }
                    await handler(event)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("event listener failed; reconnecting", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Status events for the watchers (the console, `watch`).
extension Store {
    /// Tells `handler` the status events of this process's commits on SQLite (after each commit).
    /// On PostgreSQL they travel by `NOTIFY` to every replica's ``listenForEvents(logger:onConnect:_:)``,
    /// this one's included, and the handler is not called.
    public func onStatusEvents(_ handler: @escaping @Sendable ([StatusEvent]) -> Void) {
        let callback = StoreCallback(handler)
        statusHandler.withLock { $0 = callback }
    }

    /// Sends status events written inside a transaction, once it committed: through the
    /// ``EventPublisher`` on PostgreSQL, to the handler on SQLite.
    static func notifyStatus(_ db: any SQLExecutor, _ events: [StatusEvent]) async throws {
        guard !events.isEmpty else { return }
        guard let collecting = db as? EventCollectingExecutor else {
            // On SQLite without a status handler nobody listens; on PostgreSQL they would be lost.
            if db.dialect == .postgres {
                assertionFailure("status events of a PostgreSQL write outside Store.write(_:_:) are lost")
            }
            return
        }
        collecting.collector.add(events)
    }

    /// Sends status events outside of a transaction (a cluster changed by a use case).
    public func publishStatus(_ events: [StatusEvent]) async throws {
        guard !events.isEmpty else { return }
        announce([.status(events)])
    }
}
