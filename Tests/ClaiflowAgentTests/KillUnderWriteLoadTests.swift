import AsyncHTTPClient
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// Durability under load (issue 13): a 2xx is only sent after the commit that holds the write has
/// reached the disk, so a server killed with `SIGKILL` while many creates are in flight keeps every
/// create it acknowledged (on SQLite that commit is shared by concurrent requests: group commit).
@Suite("Kill under write load", .serialized)
struct KillUnderWriteLoadTests {
    /// Concurrent writers.
    static let writers = 16
    /// Acknowledged creates before the kill.
    static let acknowledgedBeforeKill = 300

    /// What the writers share: the acknowledged uuids, whether the server was killed, and how
    /// many writers have stopped.
    final class Load: Sendable {
        let acknowledged = Mutex<[String]>([])
        let killed = Atomic<Bool>(false)
        let stopped = Atomic<Int>(0)
    }

    /// Creates a cluster; returns the HTTP status.
    static func create(_ uuid: String, port: Int, client: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/cluster")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(ServerProcess.adminToken)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"uuid":"\#(uuid)","name":"\#(uuid)"}"#))
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// Runs the writers until `acknowledgedBeforeKill` creates were acknowledged, kills the
    /// server with the writers still going, and returns the acknowledged uuids and the requests
    /// that failed before the kill.
    static func writeAndKill(_ server: ServerProcess) async throws -> (acknowledged: [String], unexpected: [String]) {
        let load = Load()
        // Its own client: the connection failures after the kill must not leave the shared
        // client's pool backing off when the test talks to the restarted server.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let run = String(Identifier.generate().prefix(8))
        let unexpected = try await withThrowingTaskGroup(of: [String].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var odd: [String] = []
                    defer { load.stopped.add(1, ordering: .relaxed) }
                    // Bounded: each writer stops at its first failed request (the kill) or after 2,000.
                    for i in 0..<2_000 {
                        let uuid = "k\(run)-\(w)-\(i)"
                        let status: Int
                        do {
                            status = try await create(uuid, port: server.port, client: client)
                        } catch {
                            if !load.killed.load(ordering: .relaxed) { odd.append("\(uuid): \(error)") }
                            break
                        }
                        guard (200..<300).contains(status) else {
                            if !load.killed.load(ordering: .relaxed) { odd.append("\(uuid): HTTP \(status)") }
                            break
                        }
                        load.acknowledged.withLock { $0.append(uuid) }
                    }
                    return odd
                }
            }
            let loaded = try await waitUntil(timeout: .seconds(60)) {
                load.acknowledged.withLock { $0.count } >= acknowledgedBeforeKill || load.stopped.load(ordering: .relaxed) > 0
            }
            #expect(loaded, "only \(load.acknowledged.withLock { $0.count }) creates were acknowledged")
            #expect(load.stopped.load(ordering: .relaxed) == 0, "a writer stopped before the kill")
            load.killed.store(true, ordering: .relaxed)
            server.kill9()
            var all: [String] = []
            for try await odd in group { all += odd }
            return all
        }
        try await client.shutdown()
        return (load.acknowledged.withLock { $0 }, unexpected)
    }

    @Test(
        "SIGKILL during concurrent cluster creates: after a restart, every acknowledged create is there",
        arguments: StoreKind.available)
    func everyAcknowledgedCreateSurvives(kind: StoreKind) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
        let server = try await ServerProcess.start(databaseURL: url)
        defer { server.stop() }
        let (acknowledged, unexpected) = try await Self.writeAndKill(server)
        #expect(unexpected.isEmpty, "requests failed before the kill: \(unexpected.prefix(3))")
        #expect(acknowledged.count >= Self.acknowledgedBeforeKill)

        try await server.restart()
        var missing: [String] = []
        for uuid in acknowledged where try await server.request(.GET, "/api/v1/cluster/\(uuid)").status != 200 {
            missing.append(uuid)
        }
        #expect(
            missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged creates were lost: \(missing.prefix(5))")
        server.stop()
        try await cleanup()
    }
}
