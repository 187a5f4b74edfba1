import AsyncHTTPClient
import ClaiflowCore
import ClaiflowStore
import Foundation
import Logging
import NIOCore

/// The web console's page times on a large fleet (issue 16: under 100 ms of server time per
/// page at 1,000 clusters and 100,000 services): the fleet of ``LargeFleetBench`` (seeded once
/// per database), a real server, a browser-like client that signs in through the sign-in form
/// (its CSRF cookie and field), then each page fetched `requests` times one after the other on
/// loopback; the median and p99 per page.
struct ConsolePagesBench {
    let databaseURL: String
    let clusters: Int
    let services: Int
    /// Requests per page.
    let requests: Int

    struct Measured {
        let page: String
        let status: Int
        let bytes: Int
        let p50: Double
        let p99: Double
    }

    func run() async throws -> (LargeFleetBench.Seeding, [Measured]) {
        let fleet = LargeFleetBench(
            databaseURL: databaseURL, clusters: clusters, services: services, requests: requests,
            drive: { _, _ in (0, 0, 0, 0) })
        var logger = Logger(label: "bench.console")
        logger.logLevel = .error
        let store = try Store.open(url: databaseURL, logger: logger)
        let seeding: LargeFleetBench.Seeding
        do {
            _ = try await store.migrate()
            seeding = try await fleet.seed(store)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
        let server = try await BenchServer.start(databaseURL: databaseURL)
        do {
            let measured = try await measure(server.base, key: String(server.auth.dropFirst("Bearer ".count)))
            await server.stop()
            return (seeding, measured)
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The pages an operator opens, with objects that exist in the seeded fleet.
    func pages() -> [String] {
        let busy = LargeFleetBench.clusterUUID(0)
        let quiet = LargeFleetBench.clusterUUID(min(clusters - 1, LargeFleetBench.busyClusters + 7))
        let template = "00000000000000000000000000000001"
        return [
            "/ui/", "/ui/clusters", "/ui/clusters?page=10", "/ui/clusters?selector=env%3Dprod", "/ui/clusters/\(busy)",
            "/ui/clusters/\(quiet)", "/ui/templates", "/ui/templates?search=pods", "/ui/templates/\(template)",
            "/ui/services", "/ui/services?status=failed", "/ui/services?cluster=\(busy)", "/ui/services?template=\(template)",
            "/ui/services?page=100", "/ui/services/\(busy)/\(LargeFleetBench.serviceUUID(0))", "/ui/runs",
        ]
    }

    func measure(_ base: String, key: String) async throws -> [Measured] {
        // A browser's client: redirects are answers to read, not to follow.
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let measured = try await measure(base, key: key, client: client)
            try await client.shutdown()
            return measured
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func measure(_ base: String, key: String, client: HTTPClient) async throws -> [Measured] {
        let cookie = try await signIn(base, key: key, client: client)
        var measured: [Measured] = []
        for page in pages() {
            var latencies: [Double] = []
            var status = 0
            var bytes = 0
            // One request first, not counted: the first read of a page's rows warms the caches.
            for i in 0...requests {
                var request = HTTPClientRequest(url: base + page)
                request.headers.add(name: "Cookie", value: cookie)
                let t0 = ContinuousClock.now
                let response = try await client.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 1 << 24)
                let d = ContinuousClock.now - t0
                if i > 0 { latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
                status = Int(response.status.code)
                bytes = body.readableBytes
            }
            latencies.sort()
            func percentile(_ p: Double) -> Double {
                latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)]
            }
            measured.append(Measured(page: page, status: status, bytes: bytes, p50: percentile(0.5), p99: percentile(0.99)))
        }
        return measured
    }

    /// Signs in as a browser does; returns the `Cookie` header of the session.
    func signIn(_ base: String, key: String, client: HTTPClient) async throws -> String {
        let page = try await client.execute(HTTPClientRequest(url: base + "/ui/login"), timeout: .seconds(30))
        let html = String(buffer: try await page.body.collect(upTo: 1 << 20))
        guard let set = page.headers["set-cookie"].first(where: { $0.hasPrefix("claiflow_login_csrf=") }),
            let pair = set.split(separator: ";").first,
            let field = html.range(of: #"name="_csrf" value=""#).map({
                String(html[$0.upperBound...].prefix(while: { $0 != "\"" }))
            })
        else { throw FlowBenchError("the sign-in page has no CSRF token") }
        var post = HTTPClientRequest(url: base + "/ui/login")
        post.method = .POST
        post.headers.add(name: "Cookie", value: String(pair))
        post.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
        post.body = .bytes(ByteBuffer(string: "_csrf=\(field)&key=\(encoded)"))
        let response = try await client.execute(post, timeout: .seconds(30))
        guard let session = response.headers["set-cookie"].first(where: { $0.hasPrefix("claiflow_session=") }),
            let cookie = session.split(separator: ";").first
        else { throw FlowBenchError("sign-in failed: \(response.status.code)") }
        return String(cookie)
    }
}
