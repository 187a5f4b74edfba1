import ClaiflowCore
import Logging

/// Cross-replica events on PostgreSQL (`LISTEN`/`NOTIFY` on one channel). On SQLite there is one
/// process, so nothing is sent and nothing is listened to.
extension Store {
    /// The channel claiflow's events travel on.
    public static let eventChannel = "claiflow_events"

    /// `SELECT pg_notify(…)` for each event, to run inside the transaction that causes them: the
    /// notification is delivered when (and only if) the transaction commits.
    static func notifySQL(_ events: [DispatchEvent], dialect: SQLDialect) -> [SQL] {
        guard dialect == .postgres else { return [] }
        return Set(events.map(\.payload)).sorted().map { "SELECT pg_notify(\(bind: Store.eventChannel), \(bind: $0))" }
    }

    /// Publishes events outside of a transaction (PostgreSQL only).
    public func publish(_ events: [DispatchEvent]) async throws {
        let statements = Self.notifySQL(events, dialect: dialect)
        guard !statements.isEmpty else { return }
        try await write("events.publish") { db in
            for s in statements { _ = try await db.query(s) }
        }
    }

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

    /// Sends status events written inside a transaction: a `NOTIFY` on PostgreSQL (delivered
    /// at commit), collected for the handler on SQLite.
    static func notifyStatus(_ db: any SQLExecutor, _ events: [StatusEvent]) async throws {
        guard !events.isEmpty else { return }
        if db.dialect == .postgres {
            for s in notifySQL(DispatchEvent.status(chunking: events), dialect: .postgres) { _ = try await db.query(s) }
        } else if let collecting = db as? StatusCollectingExecutor {
            collecting.collector.add(events)
        }
    }

    /// Sends status events outside of a transaction (a cluster changed by a use case).
    public func publishStatus(_ events: [StatusEvent]) async throws {
        guard !events.isEmpty else { return }
        if dialect == .postgres {
            try await publish(DispatchEvent.status(chunking: events))
        } else if let handler = statusHandler.withLock({ $0 }) {
            handler.call(events)
        }
    }
}
