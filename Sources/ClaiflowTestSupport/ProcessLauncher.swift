import Foundation

/// Starts the tests' child processes (Foundation `Process`) one at a time and keeps each
/// `Process` object alive until its process has exited.
///
/// swift-corelibs-foundation's `Process.run()` on Linux is not safe to call from many threads at
/// once: each call adds sources to a shared manager run loop and to the calling thread's run
/// loop, makes a socket pair without close-on-exec and enumerates the open file descriptors to
/// close in the child, and `waitUntilExit()` clears the run loop source the manager thread is
/// still invalidating. A parallel test run crashed once with SIGSEGV inside `Process.run()`.
/// Every helper that spawns a process goes through `run(_:)`, and waits with
/// `waitUntilExit(_:)`, which waits for the termination handler instead of spinning the calling
/// thread's run loop.
public enum ProcessLauncher {
    /// Held while a `Process.run()` is in progress.
    private static let spawnLock = NSLock()
    /// Guards `running`; signalled when a process exits.
    private static let exited = NSCondition()
    /// The started processes that have not exited yet.
    nonisolated(unsafe) private static var running: [ObjectIdentifier: Process] = [:]

    /// Runs `process` (already configured; its own `terminationHandler`, if any, is still
    /// called), with no other `Process.run()` of the tests in progress.
    public static func run(_ process: Process) throws {
        let id = ObjectIdentifier(process)
        let handler = process.terminationHandler
        process.terminationHandler = { ended in
            exited.lock()
            running[id] = nil
            exited.broadcast()
            exited.unlock()
            handler?(ended)
        }
        exited.lock()
        running[id] = process
        exited.unlock()
        spawnLock.lock()
        defer { spawnLock.unlock() }
        do {
            try process.run()
        } catch {
            exited.lock()
            running[id] = nil
            exited.unlock()
            throw error
        }
    }

    /// Blocks until `process`, started by `run(_:)`, has exited (returns at once if it has).
    public static func waitUntilExit(_ process: Process) {
        let id = ObjectIdentifier(process)
        exited.lock()
        defer { exited.unlock() }
        while running[id] != nil { exited.wait() }
    }
}
