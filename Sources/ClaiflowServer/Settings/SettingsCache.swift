import ClaiflowCore
import ClaiflowStore
import Logging
import ServiceLifecycle
import Synchronization

/// The parsed global variables of this process. A change made through this process's API
/// applies at once; changes made by other replicas arrive with the periodic ``SettingsRefresher``.
public final class SettingsCache: Sendable {
    private let current = Mutex(GlobalSettings())

    public init() {}

    /// The settings in force now.
    public var settings: GlobalSettings { current.withLock { $0 } }

    /// Replaces the settings from the stored rows; returns the problems found in them.
    @discardableResult
    public func apply(rows: [GlobalVariable]) -> [String] {
        var problems: [String] = []
        let s = GlobalSettings(rows: rows, problems: &problems)
        current.withLock { $0 = s }
        return problems
    }

    /// Re-reads all rows (there are only four) from the store.
    @discardableResult
    public func reload(from store: Store) async throws -> [String] {
        apply(rows: try await store.globalVariables(.init(condition: nil, order: [], page: nil)))
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
