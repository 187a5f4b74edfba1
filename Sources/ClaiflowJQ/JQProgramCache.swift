import ClaiflowCore
import Synchronization

/// A bounded, thread-safe cache of compiled programs keyed by filter text.
///
/// Compiling with libjq 1.6 takes milliseconds, so code that sees the same filters again and
/// again (flow references, webhook conditions) asks the cache instead of compiling. Compile
/// errors are cached too. When full, the oldest entry is evicted.
public final class JQProgramCache: Sendable {
    /// A process-wide cache for sandboxed programs (the environment hidden).
    public static let shared = JQProgramCache(capacity: 1024)

    private struct Entries {
        var programs: [String: Result<JQProgram, ClaiflowError>] = [:]
        var order: [String] = []
    }

    private let capacity: Int
    private let entries = Mutex(Entries())

    /// Creates a cache holding at most `capacity` filters.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The compiled program for `filter` (sandboxed: no environment access), compiling it on
    /// first use.
    ///
    /// - Throws: the compile error of ``JQProgram/init(filter:allowEnvironment:)``.
    public func program(_ filter: String) throws(ClaiflowError) -> JQProgram {
        if let cached = entries.withLock({ $0.programs[filter] }) { return try cached.get() }
        // Compile outside the lock; two tasks racing on a new filter both compile, one wins.
        let result: Result<JQProgram, ClaiflowError>
        do throws(ClaiflowError) {
            result = .success(try JQProgram(filter: filter))
        } catch {
            result = .failure(error)
        }
        let stored = entries.withLock { entries -> Result<JQProgram, ClaiflowError> in
            if let existing = entries.programs[filter] { return existing }
            if entries.order.count >= capacity {
                let evicted = entries.order.removeFirst()
                entries.programs[evicted] = nil
            }
            entries.programs[filter] = result
            entries.order.append(filter)
            return result
        }
        return try stored.get()
    }

    /// The number of cached filters.
    public var count: Int { entries.withLock { $0.programs.count } }
}
