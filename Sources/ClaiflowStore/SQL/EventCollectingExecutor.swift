import Synchronization

/// The events a transaction's statements cause, handed on after its commit: status events to
/// ``Store/onStatusEvents(_:)`` on SQLite, everything to the ``EventPublisher`` on PostgreSQL.
/// A transaction that rolls back hands on nothing.
final class EventCollector: Sendable {
    private let events = Mutex<(status: [StatusEvent], dispatch: [DispatchEvent])>(([], []))

    func add(_ more: [StatusEvent]) { events.withLock { $0.status += more } }

    func add(_ more: [DispatchEvent]) { events.withLock { $0.dispatch += more } }

    /// What was collected: the dispatch events, then the status events (as one `.status`).
    func take() -> [DispatchEvent] {
        events.withLock { e in
            defer { e = ([], []) }
            return e.status.isEmpty ? e.dispatch : e.dispatch + [.status(e.status)]
        }
    }
}

/// A transaction's executor that also collects the events its statements cause.
struct EventCollectingExecutor: SQLExecutor {
    let base: any SQLExecutor
    let collector: EventCollector

    var dialect: SQLDialect { base.dialect }

    func query(_ sql: SQL) async throws -> [SQLRow] { try await base.query(sql) }

    func execute(_ sql: SQL) async throws -> Int { try await base.execute(sql) }
}
