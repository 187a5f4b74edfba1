import AsyncHTTPClient
import ClaiflowCore
import ClaiflowQuery
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The first start of an installation: many replicas at once on one empty PostgreSQL database.
@Suite("First start of several replicas", .enabled(if: StoreKind.available.contains(.postgres)))
struct FirstStartTests {
    /// One replica, built and serving HTTP.
    struct Replica: Sendable {
        let app: ClaiflowServerApp
        let reportedKey: String?
        let port: Int
        let group: ServiceGroup
        let running: Task<Void, any Error>

        func stop() async {
            await group.triggerGracefulShutdown()
            _ = await running.result
            await app.store.close()
        }
    }

    /// Starts a replica without an admin token (so that it bootstraps a key) on `url`.
    static func start(_ url: String, logger: Logger) async throws -> Replica {
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.database = url
        config.adminToken = nil
        config.grpcPort = nil
        let reported = Mutex<String?>(nil)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await ClaiflowServerApp.build(
            configuration: config, logger: logger, onServerRunning: { continuation.yield($0) },
            onAdminKeyGenerated: { key in reported.withLock { $0 = key } })
        let group = ServiceGroup(services: [app.application], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return Replica(app: app, reportedKey: reported.withLock { $0 }, port: port, group: group, running: running)
    }

    /// The status of `GET /api/v1/api_key` with `key` on a replica.
    static func listKeysStatus(_ replica: Replica, key: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(replica.port)/api/v1/api_key")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    @Test("3 replicas × 10 simultaneous first starts: every start succeeds, one admin key, reported by exactly one replica")
    func simultaneousFirstStarts() async throws {
        let logs = CapturedLogs()
        let logger = logs.logger(label: "first-start", level: .info)
        for round in 1...10 {
            let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
            let results = await withTaskGroup(of: Result<Replica, any Error>.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do { return .success(try await Self.start(url, logger: logger)) } catch { return .failure(error) }
                    }
                }
                var all: [Result<Replica, any Error>] = []
                for await r in group { all.append(r) }
                return all
            }
            var started: [Replica] = []
            for r in results {
                switch r {
                case .success(let s): started.append(s)
                case .failure(let e): Issue.record("round \(round): a replica failed to start: \(e)")
                }
            }
            if started.count == 3 {
                let reported = started.compactMap(\.reportedKey)
                #expect(reported.count == 1, "round \(round): \(reported.count) replicas reported a generated key")
                #expect(started.compactMap(\.app.generatedAdminKey) == reported)
                let keys = try await started[0].app.store.apiKeys(ListQuery())
                #expect(keys.count == 1, "round \(round): \(keys.count) API keys")
                if let key = reported.first {
                    #expect(keys.first?.keyHash == Secrets.sha256Hex(key))
                    // The key works on every replica.
                    for s in started {
                        #expect(s.port > 0)
                        #expect(try await Self.listKeysStatus(s, key: key) == 200)
                    }
                }
            }
            for s in started { await s.stop() }
            try await cleanup()
        }
        let warnings = logs.records.filter { $0.level >= .warning }.map(\.message)
        #expect(warnings.isEmpty, "\(warnings)")
    }
}
