import ClaiflowCore
import Foundation

/// The `claiflow` binary built next to the tests (`swift build` builds it), run as an operator
/// runs it.
public enum ClaiflowBinary {
    /// `.build/debug/claiflow` of this package.
    public static var url: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/claiflow")
    }

    /// What one run printed and how it ended.
    public struct Outcome: Sendable {
        /// The exit status.
        public var status: Int32
        /// Standard output.
        public var stdout: String
        /// Standard error.
        public var stderr: String
    }

    /// A started `claiflow` process writing to two files.
    public struct Running: Sendable {
        /// The process.
        public let process: SpawnedProcess
        /// Where its standard output goes.
        public let stdout: URL
        /// Where its standard error goes.
        public let stderr: URL
        /// The folder of the two files (remove it when done).
        public let folder: URL

        /// What it wrote to standard error so far.
        public var stderrText: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
    }

    /// Starts the binary with `arguments`, the environment changed by `environment` (a `nil`
    /// value removes a variable), standard input empty; `onExit` gets its exit status.
    public static func start(
        _ arguments: [String], environment: [String: String?] = [:], onExit: @escaping @Sendable (Int32) -> Void
    ) throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw ClaiflowError(.internal, "\(url.path) is missing: run `swift build` before the tests")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-run-\(Identifier.generate())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let p: SpawnedProcess
        do {
            p = try SpawnedProcess(
                executable: url.path, arguments: arguments, environment: env, stdout: out.path, stderr: err.path,
                onExit: onExit)
        } catch {
            try? FileManager.default.removeItem(at: dir)
            throw error
        }
        return Running(process: p, stdout: out, stderr: err, folder: dir)
    }

    /// Runs the binary with `arguments`, the environment changed by `environment` (a `nil`
    /// value removes a variable), standard input empty. Waits without blocking a thread of the
    /// cooperative pool (the output goes to files, the exit to a continuation).
    public static func run(_ arguments: [String], environment: [String: String?] = [:]) async throws -> Outcome {
        var started: Running?
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            do {
                started = try start(arguments, environment: environment) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        guard let running = started else { throw ClaiflowError(.internal, "the process did not start") }
        defer { try? FileManager.default.removeItem(at: running.folder) }
        return Outcome(
            status: status, stdout: try String(contentsOf: running.stdout, encoding: .utf8),
            stderr: try String(contentsOf: running.stderr, encoding: .utf8))
    }
}
