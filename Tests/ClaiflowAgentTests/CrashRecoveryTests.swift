import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

/// Issue 12, defect 1: a poll's answer that never reaches the agent (the server dies right after
/// the claim commits) must not strand the service: it is offered again within one lease window,
/// to the same agent session, which stays connected throughout.
@Suite("Crash between claim and answer", .serialized)
struct CrashRecoveryTests {
    /// `ClientSession/ExpirationTime` in these tests: the lease window.
    static let window: Duration = .seconds(4)

    /// Sets the lease window, then creates the clusters and returns a token for each.
    static func setUp(_ server: ServerProcess, clusters: [String], window: Duration = window) async throws -> [String: String] {
        let g = KnownGlobalVariable.clientSessionExpirationTime.uuid
        let seconds = window.components.seconds
        try #require(
            try await server.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"\#(seconds)s"}"#).status == 200)
        var tokens: [String: String] = [:]
        for cluster in clusters {
            try #require(
                try await server.request(.POST, "/api/v1/cluster", json: #"{"uuid":"\#(cluster)","name":"\#(cluster)"}"#)
                    .status == 200)
            let reply = try await server.request(
                .POST, "/api/v1/cluster_token", json: #"{"name":"t","cluster_uuid":"\#(cluster)"}"#)
            guard let token = reply.string("token") else {
                throw ClaiflowError(.internal, "no token for \(cluster): \(reply.status) \(reply.body)")
            }
            tokens[cluster] = token
        }
        return tokens
    }

    /// The session uuids of a cluster.
    static func sessions(_ server: ServerProcess, cluster: String) async throws -> [String] {
        guard case .array(let rows)? = try await server.request(.GET, "/api/v1/session").json else { return [] }
        return rows.compactMap { r in
            guard case .string(let c)? = r.field("cluster_uuid"), c == cluster, case .string(let u)? = r.field("uuid") else {
                return nil
            }
            return u
        }
    }

    @Test(
        "the server exits right after a claim commits (failpoint): the service is offered again to the same agent session within one lease window",
        arguments: StoreKind.available)
    func claimCommittedAnswerLost(kind: StoreKind) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
        let server = try await ServerProcess.start(databaseURL: url, failpoint: "exit-after-claim-commit")
        defer { server.stop() }
        let tokens = try await Self.setUp(server, clusters: ["c1"])
        let agent = try AgentProcess(serverPort: server.port, cluster: "c1", token: try #require(tokens["c1"]))
        defer { agent.stop() }
        do {
            #expect(try await waitUntil(timeout: .seconds(30)) { try await Self.sessions(server, cluster: "c1").count == 1 })
            let session = try await Self.sessions(server, cluster: "c1")

            // The agent's poll claims the service; the server dies before answering.
            let flow = #"[{"$id":"e","$command":"claiflow.echo","inputs":{"hello":"again"}}]"#
            _ = try? await server.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"lost","flow":\#(flow)}"#)
            #expect(try await waitUntil(timeout: .seconds(30)) { !server.process.isRunning })
            let crashed = ContinuousClock.now
            ProcessLauncher.waitUntilExit(server.process)
            #expect(server.process.terminationStatus == 86, "the failpoint ended the server")

            try await server.restart()
            // Sent, never answered: the agent's keep-alives must not keep that lease alive.
            let statuses = try await server.statuses("c1", "lost")
            #expect(statuses.map(\.status).prefix(2) == [0, 1])
            let done = try await waitUntil(timeout: Self.window + .seconds(30)) {
                try await server.statuses("c1", "lost").last?.status == 4
            }
            #expect(done, "not run \(ContinuousClock.now - crashed) after the crash")
            let history = try await server.statuses("c1", "lost")
            #expect(history.map(\.status) == [0, 1, 0, 1, 2, 4])
            if history.count == 6 {
                #expect(history[2].message?.hasPrefix("requeued: no report from the agent it was sent to") == true)
                // Requeued when the claim's lease lapsed (the sweeper acts within a quarter second).
                let claimed = try #require(history[1].created)
                let requeued = try #require(history[2].created)
                let lapse = Duration.microseconds(requeued.microseconds - claimed.microseconds)
                #expect(lapse >= Self.window && lapse < Self.window + .seconds(2), "requeued \(lapse) after the claim")
            }
            // The same agent process and session received it the second time.
            #expect(agent.process.isRunning)
            #expect(try await Self.sessions(server, cluster: "c1") == session)
        } catch {
            Issue.record(Comment(rawValue: "server log:\n\(server.logText)\nagent log:\n\(agent.logText)"))
            throw error
        }
        agent.stop()
        server.stop()
        try await cleanup()
    }
}
