import ClaiflowCore
import ClaiflowStore
import Logging
import ServiceLifecycle
import Synchronization

/// The parsed global variables of this process. A change made through this process's API
/// applies at once; changes made by other replicas arrive with the periodic ``SettingsRefresher``.
public final class SettingsCache: Sendable {
    /// The settings, and the reloads started and the latest one applied: a reload that read the
    /// rows before a later reload (e.g. the periodic refresh racing the reload after a change made
    /// here) must not overwrite that later reload's settings with what it read.
    private struct State {
        var settings = GlobalSettings()
        var started = 0
        var applied = 0
    }

    private let current = Mutex(State())

    public init() {}

    /// The settings in force now.
    public var settings: GlobalSettings { current.withLock { $0.settings } }

    /// Replaces the settings from the stored rows; returns the problems found in them.
    @discardableResult
    public func apply(rows: [GlobalVariable]) -> [String] {
        apply(rows: rows, ticket: beginReload())
    }

    /// Re-reads all rows (there are only four) from the store. Of overlapping reloads, the one
    /// started last wins, whichever finishes last.
    @discardableResult
    public func reload(from store: Store) async throws -> [String] {
        let ticket = beginReload()
        return apply(rows: try await store.globalVariables(.init(condition: nil, order: [], page: nil)), ticket: ticket)
    }

    /// Numbers a reload before it reads the rows.
    func beginReload() -> Int {
        current.withLock {
            $0.started += 1
            return $0.started
        }
    }

    /// Applies the rows read by reload `ticket`, unless a reload started after it was applied.
    func apply(rows: [GlobalVariable], ticket: Int) -> [String] {
        var problems: [String] = []
        let s = GlobalSettings(rows: rows, problems: &problems)
        current.withLock { state in
            guard ticket > state.applied else { return }
            state.settings = s
            state.applied = ticket
        }
        return problems
    }
}

/// Re-reads the global variables every `interval`, so that a change made through another
/// replica applies here within that time. Reads all four rows each time (no offset to miss).
struct SettingsRefresher: ServiceLifecycle.Service {
    let cache: SettingsCache
    let store: Store
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                let problems = try await cache.reload(from: store)
                for p in problems { logger.warning("invalid global variable ignored", metadata: ["problem": .string(p)]) }
            } catch {
                logger.warning("global variables refresh failed", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
