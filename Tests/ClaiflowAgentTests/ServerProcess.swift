import AsyncHTTPClient
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// A real `claiflow server` process on a fixed loopback port, which a test can `kill -9` and
/// start again on the same database and port (the agents keep their server URL).
final class ServerProcess: ChildProcess, @unchecked Sendable {
    static let adminToken = OperatorRequest.adminToken

    let port: Int
    let databaseURL: String
    let log: URL
    private(set) var process: Process

    private init(port: Int, databaseURL: String, log: URL, process: Process) {
        self.port = port
        self.databaseURL = databaseURL
        self.log = log
        self.process = process
    }

    /// The `claiflow` binary built next to these tests (`swift build` builds it).
    static var binary: URL { AgentProcessTests.binary }

    /// A port that was free a moment ago (the OS chose it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClaiflowError(.internal, "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, length) == 0 else { return -1 }
                return getsockname(fd, p, &length)
            }
        }
        guard bound == 0 else { throw ClaiflowError(.internal, "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts a server on `databaseURL` and waits until `/healthz` answers; `failpoint` sets
    /// `CLAIFLOW_FAILPOINT`. Its log goes to a file (appended across restarts).
    static func start(
        databaseURL: String, port: Int? = nil, log: URL? = nil, failpoint: String? = nil
    ) async throws
        -> ServerProcess
    {
        let port = try port ?? freePort()
        let log = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("server-\(Identifier.generate()).log")
        let server = ServerProcess(
            port: port, databaseURL: databaseURL, log: log,
            process: try launch(port: port, databaseURL: databaseURL, log: log, failpoint: failpoint))
        try await server.waitUntilHealthy()
        return server
    }

    private static func launch(port: Int, databaseURL: String, log: URL, failpoint: String?) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ClaiflowError(.internal, "\(binary.path) is missing: run `swift build` before the tests")
        }
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = binary
        p.arguments = ["server"]
        var env = ProcessInfo.processInfo.environment
        env["CLAIFLOW_HOST"] = "127.0.0.1"
        env["CLAIFLOW_PORT"] = "\(port)"
        env["CLAIFLOW_DATABASE"] = databaseURL
        env["CLAIFLOW_ADMIN_TOKEN"] = adminToken
        env["CLAIFLOW_GRPC_PORT"] = "off"
        env["CLAIFLOW_LOG_LEVEL"] = "warning"
        env["CLAIFLOW_FAILPOINT"] = failpoint
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = handle
        p.standardError = handle
        try ProcessLauncher.run(p)
        return p
    }

    /// Waits until `/healthz` answers 200 (the process may still be starting).
    func waitUntilHealthy(timeout: Duration = .seconds(60)) async throws {
        let process = self.process
        let up = try await waitUntil(timeout: timeout) {
            guard process.isRunning else { return true }
            return (try? await request(.GET, "/healthz", timeout: .seconds(2)).status) == 200
        }
        guard up, process.isRunning else {
            throw ClaiflowError(.internal, "the server did not start:\n\(logText)")
        }
    }

    /// Starts the server again (after it exited or was killed), on the same port and database.
    func restart(failpoint: String? = nil) async throws {
        if process.isRunning { kill9() }
        process = try Self.launch(port: port, databaseURL: databaseURL, log: log, failpoint: failpoint)
        try await waitUntilHealthy()
    }

    /// Sends an operator request (admin key).
    @discardableResult
    func request(
        _ method: HTTPMethod, _ path: String, json: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        try await OperatorRequest.send(port: port, method, path, json: json, timeout: timeout)
    }

    /// The status rows of a service of cluster `cluster`: (step_seq, status, message, created).
    func statuses(
        _ cluster: String, _ uuid: String
    ) async throws -> [(
        seq: Int64, status: Int64, message: String?, created: Timestamp?
    )] {
        let d = try await request(.GET, "/api/v1/cluster/\(cluster)/service/\(uuid)")
        guard case .array(let rows)? = d.json?.field("statuses") else { return [] }
        return rows.map { r in
            let seq: Int64 = if case .integer(let i)? = r.field("step_seq") { i } else { -1 }
            let st: Int64 = if case .integer(let i)? = r.field("status") { i } else { -1 }
            let msg: String? = if case .string(let m)? = r.field("message") { m } else { nil }
            let created: Timestamp? = if case .string(let c)? = r.field("created") { Timestamp(parsing: c) } else { nil }
            return (seq, st, msg, created)
        }
    }
}
