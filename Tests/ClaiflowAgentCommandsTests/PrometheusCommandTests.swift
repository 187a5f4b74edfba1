import AsyncHTTPClient
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

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
        let missing = await failure(
            catalog, "prometheus.query.v1", .object(["url": .string(prometheus.baseURL + "/nothing"), "query": .string("up")]))
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
