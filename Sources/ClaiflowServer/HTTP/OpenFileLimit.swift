#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`): every HTTP connection (a parked agent poll
/// holds one) is a file descriptor.
public enum OpenFileLimit {
    /// The soft limit now (what `open`, `accept` and `socket` are held to); nil if unknown.
    public static var current: Int? {
        var limit = rlimit()
        guard get(&limit) == 0 else { return nil }
        // RLIM_INFINITY (all bits set) clamps to Int.max.
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit, as Go programs do at start-up: a shell's default
    /// soft limit (often 1,024) would cap a server at a few hundred parked agents although the
    /// hard limit (often 524,288 or more) allows far more. Returns the soft limit afterwards
    /// (unchanged when raising fails).
    @discardableResult
    public static func raiseToHard() -> Int? {
        var limit = rlimit()
        guard get(&limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            #if canImport(Darwin)
            // Darwin refuses more than OPEN_MAX for the soft limit.
            raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
            #endif
            _ = set(&raised)
        }
        return current
    }

    private static func get(_ limit: inout rlimit) -> Int32 {
        #if canImport(Glibc)
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        getrlimit(RLIMIT_NOFILE, &limit)
        #endif
    }

    private static func set(_ limit: inout rlimit) -> Int32 {
        #if canImport(Glibc)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        setrlimit(RLIMIT_NOFILE, &limit)
        #endif
    }
}
