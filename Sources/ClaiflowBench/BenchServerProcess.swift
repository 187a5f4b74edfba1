import ClaiflowCore
import ClaiflowServer
import Foundation

/// A claiflow server run by the benchmark in a child process (this binary again, with `--serve`),
/// so that the clients it drives (thousands of agents) live in another process: the server's
/// resident memory and file descriptors are its own, readable from `/proc`.
///
/// The child prints one line `ready <port> <grpc port or 0> <admin token>` when it listens, then
/// answers each `stats` line on its standard input with `stats <parked polls> <statements
/// executed> <open HTTP connections> <peak HTTP connections> <header timeouts>`; `stop` (or the end of its input)
/// stops it.
final class BenchServerProcess: Sendable {
    /// The server's process id.
    let pid: Int32
    /// The HTTP port on loopback.
    let port: Int
    /// The gRPC port (when started `withGRPC`).
    let grpcPort: Int?
    /// `Bearer <admin token>`.
    let auth: String
    private let process: Process
    private let input: FileHandle
    private let lines: LineReader

    var base: String { "http://127.0.0.1:\(port)" }

    /// What the server reports about itself.
    struct Stats {
        var parkedPolls: Int
        var statementsExecuted: Int
        var openConnections: Int
        var peakConnections: Int
        /// Connections the server closed because their request head did not arrive in time.
        var headerTimeouts: Int
    }

    private init(process: Process, input: FileHandle, lines: LineReader, port: Int, grpcPort: Int?, auth: String) {
        self.process = process
        self.pid = process.processIdentifier
        self.input = input
        self.lines = lines
        self.port = port
        self.grpcPort = grpcPort
        self.auth = auth
    }

    /// Starts the child and waits until it listens.
    static func start(databaseURL: String, withGRPC: Bool = false) async throws -> BenchServerProcess {
        let process = Process()
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.executableURL = binary
        let arguments = ["--serve", databaseURL] + (withGRPC ? ["--serve-grpc"] : [])
        // CLAIFLOW_BENCH_SERVER_WRAPPER runs the server under a tool, e.g. `heaptrack` or `perf record -g`.
        if let wrapper = ProcessInfo.processInfo.environment["CLAIFLOW_BENCH_SERVER_WRAPPER"], !wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = wrapper.split(separator: " ").map(String.init) + [binary.path] + arguments
        } else {
            process.arguments = arguments
        }
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let lines = LineReader(stdout.fileHandleForReading)
        guard let ready = await lines.next(startingWith: "ready ") else {
            throw FlowBenchError("bench server process did not start")
        }
        let f = ready.split(separator: " ").map(String.init)
        guard f.count == 4, f[0] == "ready", let port = Int(f[1]), let grpc = Int(f[2]) else {
            throw FlowBenchError("bench server process: unexpected line \(ready)")
        }
        return BenchServerProcess(
            process: process, input: stdin.fileHandleForWriting, lines: lines, port: port, grpcPort: grpc == 0 ? nil : grpc,
            auth: "Bearer \(f[3])")
    }

    /// The server's own figures now.
    func stats() async throws -> Stats {
        try input.write(contentsOf: Data("stats\n".utf8))
        guard let line = await lines.next(startingWith: "stats ") else { throw FlowBenchError("bench server process ended") }
        let n = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard n.count == 5 else { throw FlowBenchError("bench server process: unexpected line \(line)") }
        return Stats(
            parkedPolls: n[0], statementsExecuted: n[1], openConnections: n[2], peakConnections: n[3], headerTimeouts: n[4])
    }

    /// The server's resident memory (`VmRSS` in `/proc/PID/status`), in KiB.
    func residentKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// Asks the server to give its free heap pages back to the system (`malloc_trim`).
    func trimHeap() async throws {
        try input.write(contentsOf: Data("trim\n".utf8))
        guard await lines.next(startingWith: "trimmed") != nil else {
            throw FlowBenchError("bench server process: no answer to trim")
        }
    }

    /// Stops the server (gracefully) and waits for the process to end.
    func stop() async {
        try? input.write(contentsOf: Data("stop\n".utf8))
        try? input.close()
        while await lines.next() != nil {}
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
    }

    /// The child's side: runs the server in this process and answers the parent on stdin/stdout.
    static func serve(databaseURL: String, withGRPC: Bool) async throws {
        OpenFileLimit.raiseToHard()
        let server = try await BenchServer.start(databaseURL: databaseURL, withGRPC: withGRPC)
        let token = server.auth.dropFirst("Bearer ".count)
        emit("ready \(server.port) \(server.grpcPort ?? 0) \(token)")
        let commands = LineReader(FileHandle.standardInput)
        while let command = await commands.next(), command != "stop" {
            if command == "stats" {
                let app = server.app
                emit(
                    "stats \(app.agents.parkedPolls) \(app.store.database.statementsExecuted) "
                        + "\(app.httpConnections.open) \(app.httpConnections.peak) \(app.httpConnections.headerTimeouts)")
            } else if command == "trim" {
                trimHeap()
                emit("trimmed")
            }
        }
        await server.stop()
    }

    /// Gives the free pages of the malloc heap back to the system (glibc's `malloc_trim(0)`), so
    /// that the resident memory shows what is in use rather than what a burst left free.
    private static func trimHeap() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    private static func emit(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// The lines of a file handle, read on a thread of their own (not a thread of the concurrency pool).
actor LineReader {
    private var iterator: AsyncStream<String>.Iterator

    init(_ handle: FileHandle) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        self.iterator = stream.makeAsyncIterator()
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            continuation.finish()
        }
        thread.start()
    }

    /// The next line that starts with `prefix` (others, such as a wrapping tool's, are skipped);
    /// nil at the end of the input.
    func next(startingWith prefix: String) async -> String? {
        while let line = await next() {
            if line.hasPrefix(prefix) { return line }
        }
        return nil
    }

    /// The next line; nil at the end of the input. One caller at a time.
    func next() async -> String? {
        var it = iterator
        let line = await it.next(isolation: #isolation)
        iterator = it
        return line
    }
}
