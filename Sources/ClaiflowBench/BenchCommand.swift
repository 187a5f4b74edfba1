import ArgumentParser
import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// `claiflow-bench`: measures the operator API over real HTTP on loopback.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claiflow-bench",
        abstract: "Measure create-cluster and filtered-list throughput over HTTP on the SQLite and PostgreSQL stores.",
        discussion: """
            Starts a claiflow server in this process on a loopback port for each database given, \
            then drives it with an HTTP client: N cluster creates, then M filtered list requests, \
            each with C requests in flight. Prints requests per second and latency percentiles.
            """
    )

    @Option(help: "Databases to measure (repeatable): sqlite:PATH or postgres://… (default: a temporary SQLite file).")
    var database: [String] = []

    @Option(help: "Cluster creates per database.")
    var creates: Int = 5000

    @Option(help: "Filtered list requests per database.")
    var lists: Int = 5000

    @Option(
        name: .customLong("service-creates"),
        help: "Service creates on 1 cluster per database (and a fiftieth of that on 100 clusters).")
    var serviceCreates: Int = 2000

    @Option(name: .customLong("flow-runs"), help: "Flow evaluations of the 3-step flow benchmark.")
    var flowRuns: Int = 20000

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 16

    @Option(name: .customLong("dispatch-agents"), help: "Simulated agents for the dispatch benchmark (0 skips it).")
    var dispatchAgents: Int = 1000

    @Option(name: .customLong("dispatch-latency-samples"), help: "Services created one at a time to measure pickup latency.")
    var dispatchLatencySamples: Int = 1000

    @Option(
        name: .customLong("dispatch-cycles"), help: "Full cycles (create, poll, processing, succeeded) for the throughput figure."
    )
    var dispatchCycles: Int = 5000

    @Option(
        name: .customLong("dispatch-transport"),
        help: "rest, grpc or both (default): the agent protocol of the dispatch benchmark.")
    var dispatchTransport: String = "both"

    var dispatchTransports: [DispatchBench.Transport] {
        dispatchTransport == "both" ? [.rest, .grpc] : DispatchBench.Transport(rawValue: dispatchTransport).map { [$0] } ?? []
    }

    @Flag(name: .customLong("dispatch-only"), help: "Run only the dispatch benchmark.")
    var dispatchOnly = false

    @Flag(
        name: .customLong("dispatch-run"),
        help:
            "Run only the fleet-run dispatch benchmark: --dispatch-agents REST agents, one run over all of them with --run-max-parallel."
    )
    var dispatchRun = false

    @Option(name: .customLong("run-max-parallel"), help: "The run's max_parallel in the fleet-run dispatch benchmark.")
    var runMaxParallel: Int = 200

    @Flag(name: .customLong("webhooks-only"), help: "Run only the webhook benchmark.")
    var webhooksOnly = false

    @Flag(name: .customLong("agent-only"), help: "Run only the agent benchmark (needs the claiflow binary next to this one).")
    var agentOnly = false

    @Option(name: .customLong("agent-services"), help: "Services run through one agent process.")
    var agentServices: Int = 3000

    @Option(name: .customLong("webhook-samples"), help: "Services created one at a time to measure the delivery delay.")
    var webhookSamples: Int = 500

    @Option(name: .customLong("webhook-burst"), help: "Services created at once to measure deliveries per second.")
    var webhookBurst: Int = 2000

    @Flag(
        name: .customLong("large-fleet"),
        help:
            "Run only the large-fleet benchmark: seed a fleet through SQL (once per database), then measure its lists over HTTP."
    )
    var largeFleet = false

    @Option(name: .customLong("fleet-clusters"), help: "Clusters of the large fleet.")
    var fleetClusters: Int = 100_000

    @Option(
        name: .customLong("fleet-services"), help: "Services of the large fleet (each with a status history of up to 3 rows).")
    var fleetServices: Int = 1_000_000

    @Option(name: .customLong("fleet-requests"), help: "Requests per measured large-fleet operation.")
    var fleetRequests: Int = 500

    // Web console (issue 16): page times on a large fleet.
    @Flag(
        name: .customLong("console-pages"),
        help:
            "Run only the console page times: the large fleet (--fleet-clusters, --fleet-services), each page fetched --page-requests times; median and p99."
    )
    var consolePages = false

    @Option(name: .customLong("page-requests"), help: "Requests per console page (with --console-pages).")
    var pageRequests: Int = 20

    @Option(name: .customLong("serve"), help: .hidden)
    var serve: String?

    @Flag(name: .customLong("serve-grpc"), help: .hidden)
    var serveGRPC = false

    func validate() throws {
        if dispatchTransports.isEmpty {
            throw ValidationError("--dispatch-transport must be rest, grpc or both, got \"\(dispatchTransport)\"")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .error
            return h
        }
        if let serve {
            // The server of the dispatch benchmark, in a process of its own (BenchServerProcess).
            try await BenchServerProcess.serve(databaseURL: serve, withGRPC: serveGRPC)
            return
        }
        OpenFileLimit.raiseToHard()
        var databases = database
        if databases.isEmpty {
            databases = [
                "sqlite:"
                    + FileManager.default.temporaryDirectory.appendingPathComponent(
                        "claiflow-bench-\(Identifier.generate()).sqlite"
                    ).path
            ]
        }
        print(
            "claiflow-bench: \(creates) creates and \(lists) filtered lists per store, \(concurrency) in flight, \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        if largeFleet {
            try await runLargeFleet(databases)
            return
        }
        if consolePages {
            print("console pages: \(fleetClusters) clusters, \(fleetServices) services, \(pageRequests) requests per page")
            for db in databases {
                let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
                let (seeding, measured) = try await ConsolePagesBench(
                    databaseURL: db, clusters: fleetClusters, services: fleetServices, requests: pageRequests
                ).run()
                print(
                    "\(kind): " + (seeding.seconds.map { String(format: "seeded in %.1f s", $0) } ?? "reused the seeded fleet")
                        + String(format: ", %.0f MiB", Double(seeding.bytes) / 1_048_576))
                print(pad("store", 10) + pad("page", 64) + pad("status", 8) + pad("KiB", 7) + pad("p50 ms", 9) + "p99 ms")
                for m in measured {
                    print(
                        pad(kind, 10) + pad(m.page, 64) + pad(String(m.status), 8)
                            + pad(String(format: "%.1f", Double(m.bytes) / 1024), 7) + pad(String(format: "%.2f", m.p50), 9)
                            + String(format: "%.2f", m.p99))
                }
            }
            return
        }
        if dispatchRun {
            try await runDispatchRun(databases)
            return
        }
        if agentOnly {
            print(pad("store", 10) + pad("services/s (1 agent)", 22) + pad("agent RSS idle MiB", 20) + "under load MiB")
            for db in databases {
                let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
                let a = try await AgentBench(databaseURL: db, services: agentServices, workers: 4).run()
                print(
                    pad(kind, 10) + pad(String(format: "%.0f", a.perSecond), 22) + pad(String(format: "%.1f", a.idleMiB), 20)
                        + String(format: "%.1f", a.loadMiB))
            }
            return
        }
        if webhooksOnly || !dispatchOnly {
            print("")
            print(pad("store", 10) + pad("webhook delay p50 ms", 22) + pad("p99 ms", 9) + "deliveries/s")
            for db in databases {
                let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
                let w = try await WebhookBench(databaseURL: db, samples: webhookSamples, burst: webhookBurst).run()
                print(
                    pad(kind, 10) + pad(String(format: "%.2f", w.p50), 22) + pad(String(format: "%.2f", w.p99), 9)
                        + String(format: "%.0f", w.perSecond))
            }
            if webhooksOnly { return }
        }
        if dispatchAgents > 0 {
            print("")
            print(
                pad("store", 10) + pad("transport", 11) + pad("agents parked", 15) + pad("idle stmt/s", 13)
                    + pad("pickup p50 ms", 15) + pad("p99 ms", 9) + pad("cycles/s", 10) + pad("errors", 8)
                    + pad("server B/parked poll", 22) + "peak conns")
            for db in databases {
                let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
                for transport in dispatchTransports {
                    let f = try await DispatchBench(
                        databaseURL: db, agents: dispatchAgents, latencySamples: dispatchLatencySamples, cycles: dispatchCycles,
                        concurrency: concurrency, transport: transport
                    ).run()
                    print(
                        pad(kind, 10) + pad(transport.rawValue, 11) + pad(String(f.parked), 15)
                            + pad(String(format: "%.2f", f.idleStatementsPerSecond), 13)
                            + pad(String(format: "%.2f", f.pickupP50), 15) + pad(String(format: "%.2f", f.pickupP99), 9)
                            + pad(String(format: "%.0f", f.cyclesPerSecond), 10) + pad(String(f.errors), 8)
                            + pad(String(format: "%.0f", f.bytesPerParkedPoll), 22) + String(f.peakConnections))
                }
            }
            if dispatchOnly { return }
            print("")
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let single = try await FlowBench.measure(runs: flowRuns, concurrency: 1)
        let parallel = try await FlowBench.measure(runs: flowRuns, concurrency: cores)
        print("")
        print(pad("store", 10) + pad("operation", 22) + pad("req/s", 10) + pad("p50 ms", 9) + pad("p99 ms", 9) + "errors")
        print(pad("-", 10) + pad("flow eval, 3 steps", 22) + pad(String(format: "%.0f", single), 10) + "(1 task)")
        print(pad("-", 10) + pad("flow eval, 3 steps", 22) + pad(String(format: "%.0f", parallel), 10) + "(\(cores) tasks)")
        let v2Single = try await FlowBench.measure(runs: flowRuns, concurrency: 1, flowText: FlowBench.v2FlowText)
        let v2Parallel = try await FlowBench.measure(runs: flowRuns, concurrency: cores, flowText: FlowBench.v2FlowText)
        print(pad("-", 10) + pad("flow eval, v2, 6 steps", 22) + pad(String(format: "%.0f", v2Single), 10) + "(1 task)")
        print(pad("-", 10) + pad("flow eval, v2, 6 steps", 22) + pad(String(format: "%.0f", v2Parallel), 10) + "(\(cores) tasks)")
        for db in databases {
            let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
            for result in try await measure(databaseURL: db) {
                print(
                    pad(kind, 10) + pad(result.name, 22) + pad(String(format: "%.0f", result.perSecond), 10)
                        + pad(String(format: "%.2f", result.p50), 9) + pad(String(format: "%.2f", result.p99), 9)
                        + String(result.errors))
            }
        }
    }

    struct Result {
        let name: String
        let perSecond: Double
        let p50: Double
        let p99: Double
        let errors: Int
    }

    /// Requests per second, latency percentiles (ms) and errors of a driven batch.
    typealias Driven = (rate: Double, p50: Double, p99: Double, errors: Int)

    func runLargeFleet(_ databases: [String]) async throws {
        print("large fleet: \(fleetClusters) clusters, \(fleetServices) services, \(fleetRequests) requests per operation")
        for db in databases {
            let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
            let (seeding, measured) = try await LargeFleetBench(
                databaseURL: db, clusters: fleetClusters, services: fleetServices, requests: fleetRequests,
                drive: { count, make in try await drive(count: count, make) }
            ).run()
            print("")
            print(
                "\(kind): " + (seeding.seconds.map { String(format: "seeded in %.1f s", $0) } ?? "reused the seeded fleet")
                    + String(format: ", %.0f MiB, %d status rows", Double(seeding.bytes) / 1_048_576, seeding.statusRows)
                    + String(format: ", server up in %.2f s", seeding.serverStart)
                    + (seeding.migrations.isEmpty
                        ? ""
                        : ", migrations \(seeding.migrations.map(String.init).joined(separator: ",")) applied"
                            + String(format: " in %.1f s", seeding.migrationSeconds)))
            print(
                pad("store", 10) + pad("operation", 34) + pad("rows", 6) + pad("req/s", 9) + pad("p50 ms", 9) + pad("p99 ms", 9)
                    + "errors")
            for m in measured {
                print(
                    pad(kind, 10) + pad(m.name, 34) + pad(String(m.rows), 6) + pad(String(format: "%.0f", m.driven.rate), 9)
                        + pad(String(format: "%.2f", m.driven.p50), 9) + pad(String(format: "%.2f", m.driven.p99), 9)
                        + String(m.driven.errors))
            }
        }
    }

    /// The fleet-run dispatch benchmark on each database (``RunDispatchBench``).
    func runDispatchRun(_ databases: [String]) async throws {
        print("fleet run: \(dispatchAgents) REST agents, one run over all of them, max_parallel \(runMaxParallel), one-step flow")
        let columns = [
            ("store", 10), ("create run ms", 15), ("complete s", 12), ("(server s)", 12), ("services/s", 12),
            ("reduce p50 ms", 15), ("max ms", 8), ("GET run ms", 12), ("peak held", 11), ("state", 11),
        ]
        print(columns.map { pad($0.0, $0.1) }.joined() + "errors")
        for db in databases {
            let kind = db.hasPrefix("sqlite:") ? "sqlite" : "postgres"
            let f = try await RunDispatchBench(databaseURL: db, agents: dispatchAgents, maxParallel: runMaxParallel).run()
            let rate = Double(dispatchAgents) / max(f.completeSeconds, 1e-9)
            var line = pad(kind, 10) + pad(String(format: "%.1f", f.createMilliseconds), 15)
            line += pad(String(format: "%.2f", f.completeSeconds), 12) + pad(String(format: "%.2f", f.serverSeconds), 12)
            line += pad(String(format: "%.0f", rate), 12) + pad(String(format: "%.1f", f.reduceP50), 15)
            line += pad(String(format: "%.1f", f.reduceMax), 8) + pad(String(format: "%.1f", f.detailP50), 12)
            line += pad(String(f.peakInFlight), 11) + pad(f.state, 11) + String(f.errors.values.reduce(0, +))
            print(line)
            for (kind, n) in f.errors.sorted(by: { $0.value > $1.value }) { print("  error \(n)× \(kind)") }
        }
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    func measure(databaseURL: String) async throws -> [Result] {
        let server = try await BenchServer.start(databaseURL: databaseURL)
        let base = server.base
        let auth = server.auth
        let runID = Identifier.generate().prefix(8)

        let create = try await drive(count: creates) { i in
            var r = HTTPClientRequest(url: base + "/api/v1/cluster")
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: #"{"name":"bench-\#(runID)-\#(i % 100)","summary":"benchmark cluster \#(i)"}"#))
            return r
        }
        let list = try await drive(count: lists) { i in
            let q = #"{"and":[{"like":{"name":"bench-\#(runID)-\#(i % 100)%"}},{"gt":{"created":"2020-01-01"}}]}"#
            let p = #"{"limit":20}"#
            let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
            var r = HTTPClientRequest(url: base + "/api/v1/cluster?q=\(enc(q))&o=\(enc(#"{"desc":"created"}"#))&p=\(enc(p))")
            r.headers.add(name: "Authorization", value: auth)
            return r
        }
        // Services from a default template (inputs validated against its schema): on 1 cluster
        // per request, and on 100 clusters per request (one transaction each).
        let clusterIDs = (0..<100).map { "bench-\(runID)-c\($0)" }
        for id in clusterIDs {
            var r = HTTPClientRequest(url: base + "/api/v1/cluster")
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: #"{"uuid":"\#(id)","name":"\#(id)"}"#))
            _ = try await HTTPClient.shared.execute(r, timeout: .seconds(30))
        }
        let serviceBody: @Sendable (String) -> String = { (clusters: String) in
            #"{\#(clusters)"template_uuid":"00000000000000000000000000000001","inputs":{"namespace":"default","name":"web-0"}}"#
        }
        let one = try await drive(count: serviceCreates) { i in
            var r = HTTPClientRequest(url: base + "/api/v1/cluster/\(clusterIDs[i % 100])/service")
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: serviceBody("")))
            return r
        }
        let allClusters = "\"cluster_uuids\":[" + clusterIDs.map { "\"\($0)\"" }.joined(separator: ",") + "],"
        let hundred = try await drive(count: serviceCreates / 50) { _ in
            var r = HTTPClientRequest(url: base + "/api/v1/service")
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: serviceBody(allClusters)))
            return r
        }
        await server.stop()
        return [
            Result(name: "create cluster", perSecond: create.rate, p50: create.p50, p99: create.p99, errors: create.errors),
            Result(name: "filtered list (20)", perSecond: list.rate, p50: list.p50, p99: list.p99, errors: list.errors),
            Result(name: "service, 1 cluster", perSecond: one.rate, p50: one.p50, p99: one.p99, errors: one.errors),
            Result(
                name: "service, 100 clusters", perSecond: hundred.rate, p50: hundred.p50, p99: hundred.p99,
                errors: hundred.errors),
        ]
    }

    /// Sends `count` requests with `concurrency` in flight; returns the rate and latency percentiles (ms).
    func drive(
        count: Int, _ make: @escaping @Sendable (Int) -> HTTPClientRequest
    ) async throws -> Driven {
        let start = ContinuousClock.now
        let perWorker = (count + concurrency - 1) / concurrency
        let results = await withTaskGroup(of: ([Double], Int).self) { group in
            for w in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    for j in 0..<perWorker {
                        let i = w * perWorker + j
                        if i >= count { break }
                        let t0 = ContinuousClock.now
                        do {
                            let response = try await HTTPClient.shared.execute(make(i), timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 24)
                            if response.status != .ok { errors += 1 }
                        } catch {
                            errors += 1
                        }
                        let d = ContinuousClock.now - t0
                        latencies.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
                    }
                    return (latencies, errors)
                }
            }
            var all: [Double] = []
            var errors = 0
            for await (l, e) in group {
                all += l
                errors += e
            }
            return (all, errors)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = results.0.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return (Double(sorted.count) / seconds, pct(0.5), pct(0.99), results.1)
    }
}
