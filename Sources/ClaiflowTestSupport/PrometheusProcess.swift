import AsyncHTTPClient
import ClaiflowCore
import Foundation

/// A failure of the Prometheus helper.
public struct PrometheusError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, scraping itself.
public final class PrometheusProcess: Sendable {
    public static let binary = ProcessInfo.processInfo.environment["CLAIFLOW_PROMETHEUS_BINARY"] ?? "/usr/bin/prometheus"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["CLAIFLOW_REQUIRE_PROMETHEUS"] == "1" }
    /// Run the suite when Prometheus is installed, or when CI requires it (then a missing binary fails).
    public static var shouldRun: Bool { isInstalled || isRequired }

    public let port: Int
    public let directory: URL
    private let process: Process

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init() throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("prometheus.yml")
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: prometheus
            static_configs:
              - targets: ["127.0.0.1:\(port)"]
        """.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--config.file=\(config.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--log.level=warn",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ProcessLauncher.run(process)
        self.process = process
    }

    /// Polls `/-/ready`, then waits for the first scrape of `up`.
    public func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard process.isRunning else { throw PrometheusError("prometheus exited with status \(process.terminationStatus)") }
            if let status = try? await get("/-/ready"), status.0 == 200 { break }
            guard ContinuousClock.now < deadline else { throw PrometheusError("prometheus did not become ready in time") }
            try await Task.sleep(for: .milliseconds(200))
        }
        while true {
            if let (status, body) = try? await get("/api/v1/query?query=up"), status == 200,
                case .array(let result)? = (try? JSONValue.parse(body))?.field("data")?.field("result"), !result.isEmpty
            {
                return
            }
            guard ContinuousClock.now < deadline else { throw PrometheusError("prometheus did not scrape itself in time") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private func get(_ path: String) async throws -> (UInt, String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, String(buffer: body))
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            ProcessLauncher.waitUntilExit(process)
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A port that was free a moment ago (bound to port 0 and closed).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PrometheusError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw PrometheusError("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw PrometheusError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
