import ClaiflowCore
import ClaiflowTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `claiflow agent` process for one cluster, which a test can `kill -9` and start again.
final class AgentProcess: ChildProcess, @unchecked Sendable {
    let serverPort: Int
    let cluster: String
    let token: String
    let workers: Int
    let log: URL
    private(set) var process: Process

    /// Starts `claiflow agent`; its log goes to a file (appended across restarts).
    init(serverPort: Int, cluster: String, token: String, workers: Int = 2) throws {
        self.serverPort = serverPort
        self.cluster = cluster
        self.token = token
        self.workers = workers
        self.log = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(Identifier.generate()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        self.process = try Self.launch(serverPort: serverPort, cluster: cluster, token: token, workers: workers, log: log)
    }

    /// Starts one `claiflow agent` process writing to `log` (appending).
    static func launch(serverPort: Int, cluster: String, token: String, workers: Int, log: URL) throws -> Process {
        let binary = AgentProcessTests.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ClaiflowError(.internal, "\(binary.path) is missing: run `swift build` before the tests")
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = binary
        p.arguments = ["agent", "--workers", "\(workers)"]
        var env = ProcessInfo.processInfo.environment
        env["CLAIFLOW_SERVER"] = "http://127.0.0.1:\(serverPort)"
        env["CLAIFLOW_CLUSTER"] = cluster
        env["CLAIFLOW_TOKEN"] = token
        env["CLAIFLOW_LOG_LEVEL"] = "info"
        env["KUBECONFIG"] = "/nonexistent"
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = handle
        p.standardError = handle
        try ProcessLauncher.run(p)
        return p
    }

    /// Starts the agent again (a new process, hence a new session).
    func restart() throws {
        if process.isRunning { kill9() }
        process = try Self.launch(serverPort: serverPort, cluster: cluster, token: token, workers: workers, log: log)
    }
}
