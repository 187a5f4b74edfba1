import ClaiflowTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `claiflow` process a test started (server or agent), with its log in a file.
protocol ChildProcess: AnyObject {
    var process: Process { get }
    var log: URL { get }
}

extension ChildProcess {
    /// `kill -9`, and waits until the process is gone.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        ProcessLauncher.waitUntilExit(process)
    }

    /// Stops the process (SIGTERM) and waits for it.
    func stop() {
        if process.isRunning { process.terminate() }
        ProcessLauncher.waitUntilExit(process)
    }

    /// The process's log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}
