import Synchronization

/// The status events a SQLite transaction wrote, handed to ``Store/onStatusEvents(_:)`` after
/// its commit.
final class StatusEventCollector: Sendable {
    private let events = Mutex<[StatusEvent]>([])

    func add(_ more: [StatusEvent]) { events.withLock { $0 += more } }

    func take() -> [StatusEvent] {
        events.withLock { e in
            defer { e = [] }
            return e
        }
    }
}

/// A SQLite transaction's executor that also collects the status events its statements cause.
struct StatusCollectingExecutor: SQLExecutor {
    let base: any SQLExecutor
    let collector: StatusEventCollector

    var dialect: SQLDialect { base.dialect }

    func query(_ sql: SQL) async throws -> [SQLRow] { try await base.query(sql) }

    func execute(_ sql: SQL) async throws -> Int { try await base.execute(sql) }
}
