import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash points for tests: `CLAIFLOW_FAILPOINT=<name>` in the server's environment makes the
/// process end abruptly (no shutdown, no flush, as `kill -9` would) at that point, so that a test
/// can reproduce a crash between two steps deterministically. Read once, from the environment
/// only (never a flag or a setting); unset in production, where checking it costs one load.
enum Failpoint: String, Sendable {
    /// Right after a poll's claim transaction committed, before the poll answers: the services
    /// are `sent` to a session whose agent never receives them.
    case exitAfterClaimCommit = "exit-after-claim-commit"

    /// The environment variable naming the active failpoint.
    static let environmentName = "CLAIFLOW_FAILPOINT"

    /// The failpoint the environment names, if any.
    static let active: Failpoint? = ProcessInfo.processInfo.environment[environmentName].flatMap(Failpoint.init(rawValue:))

    /// Ends the process at once with status 86 when `self` is the active failpoint.
    func trigger() {
        guard Self.active == self else { return }
        FileHandle.standardError.write(Data("failpoint \(rawValue) reached: exiting\n".utf8))
        _exit(86)
    }
}
