import AsyncHTTPClient
import ClaiflowAgentCommands
import ClaiflowCore
import Foundation
import Testing

/// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, scraping itself.
final class PrometheusProcess: Sendable {
    static let binary = ProcessInfo.processInfo.environment["CLAIFLOW_PROMETHEUS_BINARY"] ?? "/usr/bin/prometheus"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static var isRequired: Bool { ProcessInfo.processInfo.environment["CLAIFLOW_REQUIRE_PROMETHEUS"] == "1" }
    /// Run the suite when Prometheus is installed, or when CI requires it (then a missing binary fails).
    static var shouldRun: Bool { isInstalled || isRequired }

    let port: Int
    let directory: URL
    private let process: Process

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init() throws {
        port = try freePort()
        directory = try temporaryDirectory()
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
        try process.run()
        self.process = process
    }

    /// Polls `/-/ready`, then waits for the first scrape of `up`.
    func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard process.isRunning else { throw TestFailure("prometheus exited with status \(process.terminationStatus)") }
            if let status = try? await get("/-/ready"), status.0 == 200 { break }
            guard ContinuousClock.now < deadline else { throw TestFailure("prometheus did not become ready in time") }
            try await Task.sleep(for: .milliseconds(200))
        }
        while true {
            if let (status, body) = try? await get("/api/v1/query?query=up"), status == 200,
                case .array(let result)? = (try? JSONValue.parse(body))?.field("data")?.field("result"), !result.isEmpty
            {
                return
            }
            guard ContinuousClock.now < deadline else { throw TestFailure("prometheus did not scrape itself in time") }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private func get(_ path: String) async throws -> (UInt, String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, String(buffer: body))
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A port that was free a moment ago (bound to port 0 and closed).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestFailure("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Suite("Prometheus commands against a real Prometheus", .enabled(if: PrometheusProcess.shouldRun))
struct PrometheusCommandTests {
    @Test("query, query_range, targets, metadata, rules, alerts, alertmanagers and errors")
    func realPrometheus() async throws {
        guard PrometheusProcess.isInstalled else {
            Issue.record(
                "CLAIFLOW_REQUIRE_PROMETHEUS=1 but \(PrometheusProcess.binary) is missing: install Debian's prometheus package"
            )
            return
        }
        let prometheus = try PrometheusProcess()
        defer { prometheus.stop() }
        try await prometheus.waitUntilReady()
        let catalog = try makeCatalog()
        let url = JSONValue.string(prometheus.baseURL)

        let up = try await call(catalog, "prometheus.query.v1", .object(["url": url, "query": .string("up")]))
        #expect(up.field("resultType") == .string("vector"))
        guard case .array(let upResult)? = up.field("result"), let first = upResult.first else {
            Issue.record("no result for up: \(up.serialized())")
            return
        }
        #expect(first.field("metric")?.field("job") == .string("prometheus"))
        if case .array(let sample)? = first.field("value") { #expect(sample.last == .string("1")) }

        // Without a scheme the URL gets http://; a trailing slash is fine.
        let build = try await call(
            catalog, "prometheus.query.v1",
            .object(["url": .string("127.0.0.1:\(prometheus.port)/"), "query": .string("prometheus_build_info")]))
        guard case .array(let buildResult)? = build.field("result"), let info = buildResult.first else {
            Issue.record("no prometheus_build_info: \(build.serialized())")
            return
        }
        #expect(info.field("metric")?.field("version") != nil)

        let at = try await call(
            catalog, "prometheus.query.v1",
            .object(["url": url, "query": .string("1+1"), "time": .string(rfc3339(Date()))]))
        #expect(at.field("resultType") == .string("scalar"))

        let end = Date()
        let range = try await call(
            catalog, "prometheus.query_range.v1",
            .object([
                "url": url, "query": .string("up"), "start": .string(rfc3339(end.addingTimeInterval(-60))),
                "end": .string(rfc3339(end)), "step": .string("1s"),
            ]))
        #expect(range.field("resultType") == .string("matrix"))
        let numericStep = try await call(
            catalog, "prometheus.query_range.v1",
            .object([
                "url": url, "query": .string("up"), "start": .string(rfc3339(end.addingTimeInterval(-60))),
                "end": .string(rfc3339(end)), "step": .integer(15),
            ]))
        #expect(numericStep.field("resultType") == .string("matrix"))

        let targets = try await call(catalog, "prometheus.targets.v1", .object(["url": url]))
        guard case .array(let active)? = targets.field("activeTargets") else {
            Issue.record("no activeTargets: \(targets.serialized())")
            return
        }
        #expect(active.first?.field("labels")?.field("job") == .string("prometheus"))
        #expect(targets.field("droppedTargets") != nil)

        // The filters are sent (the original validated and then dropped them).
        let metadata = try await call(
            catalog, "prometheus.targets/metadata.v1",
            .object([
                "url": url, "match_target": .string("{job=\"prometheus\"}"), "metric": .string("prometheus_build_info"),
                "limit": .string("5"),
            ]))
        guard case .array(let entries) = metadata, !entries.isEmpty else {
            Issue.record("no metadata: \(metadata.serialized())")
            return
        }
        // With `metric` given, Prometheus leaves the metric name out of each entry.
        #expect(entries.count == 1)
        #expect(entries.first?.field("type") == .string("gauge"))
        #expect(entries.first?.field("target")?.field("job") == .string("prometheus"))
        let unfiltered = try await call(catalog, "prometheus.targets/metadata.v1", .object(["url": url]))
        guard case .array(let everything) = unfiltered else {
            Issue.record("no metadata: \(unfiltered.serialized())")
            return
        }
        #expect(everything.count > 10)
        #expect(everything.contains { $0.field("metric") == .string("prometheus_build_info") })

        let rules = try await call(catalog, "prometheus.rules.v1", .object(["url": url]))
        #expect(rules.field("groups") == .array([]))
        let alerts = try await call(catalog, "prometheus.alerts.v1", .object(["url": url]))
        #expect(alerts.field("alerts") == .array([]))
        let managers = try await call(catalog, "prometheus.alertmanagers.v1", .object(["url": url]))
        #expect(managers.field("activeAlertmanagers") == .array([]))

        // Prometheus's own error text.
        let bad = await failure(catalog, "prometheus.query.v1", .object(["url": url, "query": .string("up{")]))
        #expect(bad?.hasPrefix("prometheus /api/v1/query: HTTP 400: bad_data: ") == true, "\(bad ?? "")")
        #expect(bad?.contains("parse error") == true)
        // A non-API path answers 404 with a plain body.
        let missing = await failure(catalog, "prometheus.query.v1", .object(["url": .string(prometheus.baseURL + "/nothing"), "query": .string("up")]))
        #expect(missing?.hasPrefix("prometheus /api/v1/query: HTTP 404") == true, "\(missing ?? "")")
    }
}

@Suite("Prometheus command inputs")
struct PrometheusInputTests {
    @Test("inputs are checked before any request")
    func inputs() async throws {
        let catalog = try makeCatalog()
        #expect(await failure(catalog, "prometheus.query.v1", .object(["query": .string("up")])) == "\"url\" is required")
        #expect(await failure(catalog, "prometheus.query.v1", .object(["url": .string("http://x")])) == "\"query\" is required")
        #expect(
            await failure(catalog, "prometheus.query.v1", .object(["url": .string("ftp://x"), "query": .string("up")]))
                == "\"url\" must be an http(s) URL, got \"ftp://x\"")
        #expect(
            await failure(
                catalog, "prometheus.query_range.v1",
                .object(["url": .string("x"), "query": .string("up"), "start": .string("1"), "end": .string("2")]))
                == "\"step\" is required")
    }
}

func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
