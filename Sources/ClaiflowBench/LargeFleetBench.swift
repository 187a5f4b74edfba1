import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Foundation
import Logging
import NIOCore

/// The large-fleet benchmark: a database holding many clusters and services (100,000 and
/// 1,000,000 by default), seeded straight through SQL in big transactions, then the read paths
/// an operator uses on such a fleet measured over HTTP against a real server: a filtered page of
/// clusters, a cluster's services by status, and a service with its history.
///
/// The fleet is deterministic (row `i` always gets the same uuid, name and times), so a database
/// seeded once is reused by later runs: seeding is skipped when the database already holds
/// exactly this fleet.
struct LargeFleetBench {
    let databaseURL: String
    let clusters: Int
    let services: Int
    /// Requests per measured operation.
    let requests: Int
    /// Drives requests with the benchmark's concurrency and returns rate and percentiles.
    let drive: @Sendable (Int, @escaping @Sendable (Int) -> HTTPClientRequest) async throws -> Bench.Driven

    /// Services on each of the first `busyClusters` clusters: one service in ten goes to them.
    static let busyClusters = 100
    /// The fleet's time span: cluster and service creation times spread over this many
    /// microseconds before the moment of seeding (one year).
    static let span: Int64 = 365 * 86_400 * 1_000_000

    struct Seeding {
        /// Nil when an existing fleet was reused.
        var seconds: Double?
        var bytes: Int64
        var statusRows: Int
        /// Seconds from the server's start until it listens.
        var serverStart: Double
        /// The migrations applied before seeding (to a fleet seeded by an earlier version) and their duration.
        var migrations: [Int64] = []
        var migrationSeconds: Double = 0
    }

    struct Measured {
        let name: String
        /// Items in the answer to the first request (1 for a single object), as a sanity check.
        let rows: Int
        let driven: Bench.Driven
    }

    // MARK: - Deterministic fleet

    /// The uuid of cluster `i`: 8 hex digits of a multiplicative hash, then `i` in 24 hex digits.
    static func clusterUUID(_ i: Int) -> String { hex((Int64(i) &* 2_654_435_761) % 4_294_967_296, 8) + hex(Int64(i), 24) }

    /// The uuid of service `j` (on the cluster ``clusterOfService(_:)``).
    static func serviceUUID(_ j: Int) -> String { hex((Int64(j) &* 2_246_822_519) % 4_294_967_296, 8) + hex(Int64(j), 24) }

    static func hex(_ v: Int64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// The same expressions in SQL.
    struct Dialect {
        let dialect: SQLDialect

        func hex(_ expression: String, _ width: Int) -> String {
            switch dialect {
            case .sqlite: "printf('%0\(width)x', \(expression))"
            case .postgres: "lpad(to_hex(\(expression)), \(width), '0')"
            }
        }

        func clusterUUID(_ i: String) -> String { hex("(\(i) * 2654435761) % 4294967296", 8) + " || " + hex(i, 24) }
        func serviceUUID(_ j: String) -> String { hex("(\(j) * 2246822519) % 4294967296", 8) + " || " + hex(j, 24) }

        /// `INSERT … SELECT … FROM <series> AS g(i)` for `i` in `low..<high`.
        func series(_ low: Int, _ high: Int, insert: String, select: String) -> SQL {
            switch dialect {
            case .sqlite:
                SQL(
                    stringLiteral:
                        "WITH RECURSIVE g(i) AS (SELECT \(low) UNION ALL SELECT i + 1 FROM g WHERE i + 1 < \(high)) \(insert) \(select) FROM g"
                )
            case .postgres:
                SQL(stringLiteral: "\(insert) \(select) FROM generate_series(\(low)::bigint, \(high - 1)::bigint) AS g(i)")
            }
        }
    }

    // MARK: - Run

    func run() async throws -> (Seeding, [Measured]) {
        var logger = Logger(label: "bench.fleet")
        logger.logLevel = .error
        let store = try Store.open(url: databaseURL, logger: logger)
        var seeding: Seeding
        do {
            let migrating = ContinuousClock.now
            let applied = try await store.migrate()
            let migrated = Self.seconds(ContinuousClock.now - migrating)
            seeding = try await seed(store)
            seeding.migrations = applied
            seeding.migrationSeconds = migrated
            await store.close()
        } catch {
            await store.close()
            throw error
        }
        let started = ContinuousClock.now
        let server = try await BenchServer.start(databaseURL: databaseURL)
        var result = seeding
        result.serverStart = Self.seconds(ContinuousClock.now - started)
        do {
            let measured = try await measure(server)
            await server.stop()
            return (result, measured)
        } catch {
            await server.stop()
            throw error
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Seeds the fleet unless the database already holds it; refuses a database holding other rows.
    func seed(_ store: Store) async throws -> Seeding {
        let db = store.database
        let counts = try await db.read { r in
            (
                try await r.first("SELECT COUNT(*) AS n FROM cluster")?.integer("n") ?? 0,
                try await r.first("SELECT COUNT(*) AS n FROM service")?.integer("n") ?? 0
            )
        }
        if counts == (Int64(clusters), Int64(services)) {
            let last = Self.clusterUUID(clusters - 1)
            let found = try await db.read { r in try await r.first("SELECT uuid FROM cluster WHERE uuid = \(bind: last)") }
            if found != nil {
                return Seeding(
                    seconds: nil, bytes: try await size(store), statusRows: try await statusRows(store), serverStart: 0)
            }
        }
        guard counts == (0, 0) else {
            throw FlowBenchError(
                "the database holds \(counts.0) clusters and \(counts.1) services, not the fleet of \(clusters) and \(services); "
                    + "give an empty database (or the one seeded with the same --fleet-clusters and --fleet-services)")
        }
        let d = Dialect(dialect: store.dialect)
        let now = Timestamp.now().microseconds
        let base = now - Self.span
        let clusterStep = Self.span / Int64(max(clusters, 1))
        let serviceStep = Self.span / Int64(max(services, 1))
        let start = ContinuousClock.now
        print("seeding \(clusters) clusters and \(services) services…")
        let chunk = 100_000
        // Names `list-0`… in an order unrelated to creation (a permutation of the numbers), as a
        // fleet named by region or team rather than by creation time; with names numbered in
        // creation order, a name prefix and the newest clusters would never meet (see
        // docs/benchmarks.md for what that does to a page ordered by `created`).
        for low in stride(from: 0, to: clusters, by: chunk) {
            let high = min(low + chunk, clusters)
            _ = try await db.transaction { tx in
                try await tx.execute(
                    d.series(
                        low, high, insert: "INSERT INTO cluster (uuid, name, summary, created, updated)",
                        select: """
                            SELECT \(d.clusterUUID("i")), 'list-' || ((i * 7919) % \(clusters)), 'large fleet cluster ' || i,
                                \(base) + i * \(clusterStep), \(base) + i * \(clusterStep)
                            """))
            }
        }
        // Status by a hash of the service number: 2 % processing, 86 % succeeded, 8 % failed,
        // 3 % canceled, 1 % expired. No queued (`regist`) services: the sweeper would expire them.
        let status = """
            CASE WHEN (i * 48271) % 2147483647 % 1000 < 20 THEN 2 WHEN (i * 48271) % 2147483647 % 1000 < 880 THEN 4
            WHEN (i * 48271) % 2147483647 % 1000 < 960 THEN 8 WHEN (i * 48271) % 2147483647 % 1000 < 990 THEN 16 ELSE 32 END
            """
        let busy = min(Self.busyClusters, clusters)
        let clusterIndex = "CASE WHEN i % 10 = 0 THEN (i / 10) % \(busy) ELSE (i * 7919) % \(clusters) END"
        for low in stride(from: 0, to: services, by: chunk) {
            let high = min(low + chunk, services)
            try await db.transaction { tx in
                let before = try await tx.first("SELECT COALESCE(MAX(id), 0) AS n FROM service")?.integer("n") ?? 0
                try await tx.execute(
                    d.series(
                        low, high,
                        insert: """
                            INSERT INTO service (cluster_uuid, uuid, name, summary, template_uuid, flow, inputs, step_max,
                                priority, webhook, status, step_seq, cancel_requested, created, updated, attempts)
                            """,
                        select: """
                            SELECT \(d.clusterUUID("(\(clusterIndex))")), \(d.serviceUUID("i")), 'kubernetes_pods_get', NULL,
                                '00000000000000000000000000000001',
                                '[{"$command":"kubernetes.pods.get.v1","$id":"step1","inputs":"$inputs"}]',
                                '{"name":"web-' || i || '","namespace":"default"}', 1, 0, NULL, \(status), 0, 0,
                                \(base) + i * \(serviceStep), \(base) + i * \(serviceStep) + 2000000, 1
                            """))
                // Its history: regist, then processing (sent for an expired one), then the final
                // status unless it is still processing; ids ascending per service.
                try await tx.execute(
                    SQL(
                        stringLiteral: """
                            INSERT INTO service_status (cluster_uuid, uuid, step_max, step_seq, status, started, ended, message, created)
                            SELECT s.cluster_uuid, s.uuid, 1, 0,
                                CASE k.k WHEN 0 THEN 0 WHEN 1 THEN (CASE s.status WHEN 32 THEN 1 ELSE 2 END) ELSE s.status END,
                                CASE WHEN k.k = 0 THEN NULL ELSE s.created + 1000000 END,
                                CASE WHEN k.k = 2 THEN s.created + 2000000 ELSE NULL END,
                                CASE WHEN k.k = 2 AND s.status = 8 THEN 'step1: pods "web" not found' ELSE NULL END,
                                s.created + k.k * 1000000
                            FROM service s CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k
                            WHERE s.id > \(before) AND (k.k < 2 OR s.status <> 2)
                            ORDER BY s.id, k.k
                            """))
            }
            print("  \(high) services")
        }
        let seconds = Self.seconds(ContinuousClock.now - start)
        if store.dialect == .postgres {
            _ = try await db.transaction { tx in
                try await tx.execute("ANALYZE")
            }
        }
        return Seeding(seconds: seconds, bytes: try await size(store), statusRows: try await statusRows(store), serverStart: 0)
    }

    func statusRows(_ store: Store) async throws -> Int {
        Int(
            try await store.database.read { r in try await r.first("SELECT COUNT(*) AS n FROM service_status")?.integer("n") ?? 0
            })
    }

    /// The database's size on disk: the SQLite file with its WAL, or `pg_database_size`.
    func size(_ store: Store) async throws -> Int64 {
        switch store.dialect {
        case .postgres:
            return try await store.database.read { r in
                try await r.first("SELECT pg_database_size(current_database()) AS n")?.integer("n") ?? 0
            }
        case .sqlite:
            var path = String(databaseURL.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            return [path, path + "-wal"].reduce(Int64(0)) { total, file in
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
            }
        }
    }

    // MARK: - Measured requests

    func measure(_ server: BenchServer) async throws -> [Measured] {
        let base = server.base
        let auth = server.auth
        let clusters = self.clusters
        let services = self.services
        let busy = min(Self.busyClusters, clusters)
        let now = Timestamp.now().microseconds
        let midpoint = Timestamp(microseconds: now - Self.span / 2).rfc3339
        @Sendable func get(_ path: String, _ parameters: [(String, String)] = []) -> HTTPClientRequest {
            let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
            let query = parameters.map { "\($0.0)=\(enc($0.1))" }.joined(separator: "&")
            var r = HTTPClientRequest(url: base + path + (query.isEmpty ? "" : "?" + query))
            r.headers.add(name: "Authorization", value: auth)
            return r
        }
        // A pseudo-random but repeatable pick per request.
        @Sendable func pick(_ i: Int, _ n: Int) -> Int { Int((UInt64(i) &* 2_654_435_761 &+ 12345) % UInt64(max(n, 1))) }
        let page = #"{"limit":20}"#
        let clusterOfService = self.clusterOfService
        let operations: [(String, @Sendable (Int) -> HTTPClientRequest)] = [
            (
                "clusters: like list-N%, 20",
                { i in get("/api/v1/cluster", [("q", #"{"like":{"name":"list-\#(1 + pick(i, 9))%"}}"#), ("p", page)]) }
            ),
            (
                "clusters: like+created, desc, 20",
                { i in
                    get(
                        "/api/v1/cluster",
                        [
                            ("q", #"{"and":[{"like":{"name":"LIST-\#(1 + pick(i, 9))%"}},{"gt":{"created":"\#(midpoint)"}}]}"#),
                            ("o", #"{"desc":"created"}"#), ("p", page),
                        ])
                }
            ),
            (
                "clusters: like, 1 match",
                { i in
                    get("/api/v1/cluster", [("q", #"{"like":{"name":"list-\#(clusters / 2 + pick(i, clusters / 2))%"}}"#)])
                }
            ),
            (
                "clusters: created range, desc, 20",
                { i in
                    let from = Timestamp(microseconds: now - Self.span + Int64(pick(i, 1000)) * (Self.span / 1000)).rfc3339
                    let to = Timestamp(microseconds: now - Self.span + Int64(pick(i, 1000) + 30) * (Self.span / 1000)).rfc3339
                    return get(
                        "/api/v1/cluster",
                        [("q", #"{"between":{"created":["\#(from)","\#(to)"]}}"#), ("o", #"{"desc":"created"}"#), ("p", page)])
                }
            ),
            (
                "clusters: created desc, 20",
                { _ in get("/api/v1/cluster", [("o", #"{"desc":"created"}"#), ("p", page)]) }
            ),
            (
                "services: cluster+status",
                { i in
                    get(
                        "/api/v1/service",
                        [
                            ("q", #"{"eq":{"cluster_uuid":"\#(Self.clusterUUID(busy + pick(i, clusters - busy)))"}}"#),
                            ("status", "succeeded,failed"),
                        ])
                }
            ),
            (
                "services: busy cluster+status",
                { i in
                    get(
                        "/api/v1/service",
                        [
                            ("q", #"{"eq":{"cluster_uuid":"\#(Self.clusterUUID(pick(i, busy)))"}}"#), ("status", "failed"),
                            ("o", #"{"desc":"created"}"#), ("p", page),
                        ])
                }
            ),
            (
                "services: status, newest",
                { i in get("/api/v1/service", [("status", ["failed", "canceled", "processing"][pick(i, 3)]), ("p", page)]) }
            ),
            (
                "service with history",
                { i in
                    let j = pick(i, services)
                    return get("/api/v1/cluster/\(Self.clusterUUID(clusterOfService(j)))/service/\(Self.serviceUUID(j))")
                }
            ),
        ]
        var out: [Measured] = []
        for (name, make) in operations {
            let first = try await HTTPClient.shared.execute(make(0), timeout: .seconds(30))
            let body = try await first.body.collect(upTo: 1 << 24)
            guard first.status == .ok else {
                throw FlowBenchError("\(name): HTTP \(first.status.code): \(String(buffer: body))")
            }
            let rows: Int
            switch try JSONValue.parse(String(buffer: body)) {
            case .array(let items): rows = items.count
            default: rows = 1
            }
            _ = try await drive(min(20, requests), make)  // warm-up
            out.append(Measured(name: name, rows: rows, driven: try await drive(requests, make)))
        }
        return out
    }

    /// The cluster of service `j`: one in ten on the busy clusters, the others spread evenly.
    var clusterOfService: @Sendable (Int) -> Int {
        let clusters = self.clusters
        let busy = min(Self.busyClusters, clusters)
        return { j in j % 10 == 0 ? (j / 10) % busy : (j &* 7919) % clusters }
    }
}
