import Foundation

/// Runs a program with an argument array (never through a shell) and collects its output.
enum ProcessRunner {
    /// What a finished program left.
    struct Output: Sendable {
        var status: Int32
        var stdout: Data
        var stderr: Data

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The first executable named `name` in the `PATH` directories, looked up now.
    static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for directory in (path ?? "").split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }

    /// Runs `executable` with `arguments`, stdin closed; terminates it if the task is cancelled.
    static func run(_ executable: String, _ arguments: [String]) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let box = ProcessBox(process)
        let exit = ExitWaiter()
        process.terminationHandler = { finished in exit.finish(finished.terminationStatus) }
        try Task.checkCancellation()
        try box.launch()
        // Read both pipes while the program runs, so a large output cannot fill a pipe and block it.
        async let out = readToEnd(stdout.fileHandleForReading)
        async let err = readToEnd(stderr.fileHandleForReading)
        let status = await withTaskCancellationHandler {
            await exit.wait()
        } onCancel: {
            box.terminate()
        }
        let output = Output(status: status, stdout: await out, stderr: await err)
        try Task.checkCancellation()
        return output
    }

    private static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = (try? handle.readToEnd()) ?? Data()
                try? handle.close()
                continuation.resume(returning: data)
            }
        }
    }
}

/// Launches and terminates a process under a lock, so a cancellation that arrives before the
/// launch still stops it.
private final class ProcessBox: @unchecked Sendable {
    private let process: Process
    private let lock = NSLock()
    private var launched = false
    private var cancelled = false

    init(_ process: Process) { self.process = process }

    func launch() throws {
        lock.lock()
        defer { lock.unlock() }
        if cancelled { throw CancellationError() }
        // A launch can fail with ETXTBSY when the executable was just written and another
        // thread forked meanwhile (the child briefly holds the write descriptor): retry a few times.
        var attempt = 0
        while true {
            do {
                try process.run()
                break
            } catch {
                attempt += 1
                if attempt >= 5 { throw error }
                usleep(50_000)
            }
        }
        launched = true
    }

    func terminate() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        if launched, process.isRunning { process.terminate() }
    }
}

/// Hands a process's exit status to one waiter, whichever comes first.
private final class ExitWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var status: Int32?
    private var continuation: CheckedContinuation<Int32, Never>?

    func finish(_ value: Int32) {
        lock.lock()
        if let continuation {
            self.continuation = nil
            lock.unlock()
            continuation.resume(returning: value)
        } else {
            status = value
            lock.unlock()
        }
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let status {
                lock.unlock()
                continuation.resume(returning: status)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }
}
