import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, for the tests' own spawns. Foundation's
/// `Process.run()` on Linux (Swift 6.3) now and then crashes the whole test process: it copies the
/// full 256-byte `d_name` of each `/proc/self/fd` entry, which over-reads past glibc's directory
/// buffer when that buffer ends at an unmapped page (swift-corelibs-foundation PR 5472; seen twice
/// here in `ClaiflowBinary.start`). Standard input is `/dev/null`, output and error go to files,
/// and every other descriptor is closed in the child.
public final class SpawnedProcess: Sendable {
    /// The child's pid.
    public let processIdentifier: Int32
    private let status = Mutex<Int32?>(nil)

    /// Whether the child has not exited yet.
    public var isRunning: Bool { status.withLock { $0 == nil } }

    /// Its exit status (the signal number when a signal ended it), or -1 while it runs.
    public var terminationStatus: Int32 { status.withLock { $0 ?? -1 } }

    /// Sends `SIGTERM`.
    public func terminate() { kill(processIdentifier, SIGTERM) }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc
    /// module does not import: every descriptor from 3 up is closed in the child.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol,
            to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Starts `executable` with `arguments` and exactly `environment`; `onExit` gets its exit
    /// status from a thread of its own that waits for the child.
    public init(
        executable: String, arguments: [String], environment: [String: String], stdout: String, stderr: String,
        onExit: @escaping @Sendable (Int32) -> Void
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_APPEND, 0)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }
        // The child starts with no signal blocked and every signal at its default (the test
        // process blocks or ignores some, and posix_spawn would pass that on).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw NSError(
                domain: NSPOSIXErrorDomain, code: Int(rc),
                userInfo: [NSLocalizedDescriptionKey: "posix_spawn \(executable): \(String(cString: strerror(rc)))"])
        }
        processIdentifier = pid
        let child = pid
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) == -1 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
            let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
            status.withLock { $0 = code }  // self is kept until the child has exited
            onExit(code)
        }
    }
}
