import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program with an argument array (never through a shell) and collects its output, on
/// swiftlang/swift-subprocess.
///
/// The program gets an empty stdin and this process's environment. Both outputs are read while
/// it runs (a large output cannot fill a pipe and block it) up to a cap each; a program that
/// prints more is stopped and the run fails. Cancelling the calling task stops the program:
/// `SIGTERM`, then `SIGKILL` after ``terminationGrace``; the run then throws `CancellationError`.
enum ProcessRunner {
    /// What a finished program left.
    struct Output: Sendable {
        /// The exit status, or the number of the signal that ended the program.
        var status: Int32
        var stdout: Data
        var stderr: Data

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Why a program could not be run to its end.
    struct Failure: Error, LocalizedError, CustomStringConvertible {
        var description: String
        var errorDescription: String? { description }
    }

    /// The most stdout a run collects (helm's JSON of a large release is a few MiB).
    static let outputLimit = 64 << 20
    /// The most stderr a run collects.
    static let errorLimit = 4 << 20
    /// How long a cancelled program has between `SIGTERM` and `SIGKILL`.
    static let terminationGrace: Duration = .seconds(5)

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

    /// Runs `executable` with `arguments`, stdin empty; stops it if the task is cancelled.
    ///
    /// - Throws: `CancellationError` when the task was cancelled; ``Failure`` when the program
    ///   cannot be started or prints more than a cap.
    static func run(
        _ executable: String, _ arguments: [String], outputLimit: Int = Self.outputLimit, errorLimit: Int = Self.errorLimit,
        terminationGrace: Duration = Self.terminationGrace
    ) async throws -> Output {
        var options = PlatformOptions()
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: terminationGrace)]
        let configuration = Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(arguments), environment: .inherit,
            platformOptions: options)
        // A launch can fail with ETXTBSY when the executable was just written and another thread
        // forked meanwhile (the child briefly holds the write descriptor): retry a few times.
        var attempt = 1
        while true {
            try Task.checkCancellation()
            let result: ExecutionResult<Void, DataOutput, DataOutput>
            do {
                result = try await Subprocess.run(
                    configuration, input: .none, output: .data(limit: outputLimit), error: .data(limit: errorLimit))
            } catch let error as SubprocessError {
                try Task.checkCancellation()
                if error.code == .spawnFailed, error.underlyingError?.rawValue == ETXTBSY, attempt < 5 {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                throw Failure(description: describe(error, outputLimit: outputLimit, errorLimit: errorLimit))
            }
            try Task.checkCancellation()
            let status: Int32
            switch result.terminationStatus {
            case .exited(let code): status = Int32(code)
            case .signaled(let signal): status = Int32(signal)
            }
            return Output(status: status, stdout: result.standardOutput, stderr: result.standardError)
        }
    }

    private static func describe(_ error: SubprocessError, outputLimit: Int, errorLimit: Int) -> String {
        if error.code == .outputLimitExceeded {
            return "the program printed more than \(outputLimit) bytes on stdout or \(errorLimit) on stderr"
        }
        return String(describing: error)
    }
}
