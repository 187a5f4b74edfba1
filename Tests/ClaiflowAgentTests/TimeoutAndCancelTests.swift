import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Testing

/// Service timeouts and prompt cancellation, end to end: a real server and a real agent
/// (a `claiflow agent` process where the test says so).
@Suite("Service timeouts and prompt cancellation", .serialized)
struct TimeoutAndCancelTests {
    static let longSleep = #"[{"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":120}}]"#

    /// A server (with `configure`) with cluster `c1` and a token; runs `body` with the server and the token.
    static func withServer(
        configure: @escaping (inout ServerConfiguration) -> Void = { _ in },
        _ body: (RunningServer, String) async throws -> Void
    ) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.sqlite)
        let server = try await RunningServer.start(databaseURL: url, configure: configure)
        do {
            try await server.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let t = try await server.request(.POST, "/api/v1/cluster_token", json: #"{"name":"a","cluster_uuid":"c1"}"#)
            try await body(server, try #require(t.string("token")))
        } catch {
            await server.stop()
            try? await cleanup()
            throw error
        }
        await server.stop()
        try await cleanup()
    }

    /// The service's current status and its status rows' messages.
    static func state(_ s: RunningServer, _ uuid: String) async throws -> (status: Int64?, messages: [String]) {
        let d = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        let status: Int64? = if case .integer(let i)? = d.json?.field("status") { i } else { nil }
        var messages: [String] = []
        if case .array(let rows)? = d.json?.field("statuses") {
            for row in rows { if case .string(let m)? = row.field("message") { messages.append(m) } }
        }
        return (status, messages)
    }

    @Test("a cancel reaches a running 120 s claiflow.sleep within about a second (agent process)")
    func promptCancel() async throws {
        try await Self.withServer { server, token in
            let agent = try AgentProcess(serverPort: server.port, cluster: "c1", token: token)
            defer { agent.stop() }
            let created = try await server.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"long","flow":\#(Self.longSleep)}"#)
            #expect(created.status == 200, "\(created.body)")
            let running = try await waitUntil(timeout: .seconds(30)) { try await Self.state(server, "long").status == 2 }
            #expect(running, "\(agent.logText)")
            // Let the agent's cancellation watch park (it opens as the service starts).
            _ = try await waitUntil(timeout: .seconds(10)) { server.app.agents.parkedCancellationWatches == 1 }
            let asked = ContinuousClock.now
            #expect(try await server.request(.POST, "/api/v1/cluster/c1/service/long/cancel").status == 200)
            let canceled = try await waitUntil(timeout: .seconds(3)) { try await Self.state(server, "long").status == 16 }
            let after = try await Self.state(server, "long")
            #expect(canceled, "not canceled \(ContinuousClock.now - asked) after the cancel: \(after)\n\(agent.logText)")
            let messages = try await Self.state(server, "long").messages
            #expect(messages.contains("canceled by an operator"), "\(messages)")
        }
    }

    @Test("the agent (which runs v2 flows) stops a service past its timeout and reports it failed \"timed out after 2s\"")
    func agentTimeout() async throws {
        try await Self.withServer { server, token in
            let agent = try AgentProcess(serverPort: server.port, cluster: "c1", token: token)
            defer { agent.stop() }
            // A v2 flow (a step `$timeout`, longer than the service's): delivered to this agent.
            let flow = #"[{"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":120},"$timeout":"60s"}]"#
            let created = try await server.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"slow","flow":\#(flow),"timeout":"2s"}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(try await waitUntil(timeout: .seconds(30)) { try await Self.state(server, "slow").status == 2 })
            let started = ContinuousClock.now
            let failed = try await waitUntil(timeout: .seconds(10)) { try await Self.state(server, "slow").status == 8 }
            #expect(failed, "\(agent.logText)")
            #expect(ContinuousClock.now - started < .seconds(10))
            let messages = try await Self.state(server, "slow").messages
            // Reported by the agent (the server's grace of 30 s has not passed).
            #expect(messages.last == "timed out after 2s", "\(messages)")
        }
    }

    @Test("the server fails a running service past its timeout plus the grace when its agent was killed")
    func serverTimeout() async throws {
        try await Self.withServer(configure: { $0.serviceTimeoutGrace = .seconds(1) }) { server, token in
            let agent = try AgentProcess(serverPort: server.port, cluster: "c1", token: token)
            defer { agent.stop() }
            let created = try await server.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"orphan","flow":\#(Self.longSleep),"timeout":"3s"}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(try await waitUntil(timeout: .seconds(30)) { try await Self.state(server, "orphan").status == 2 })
            agent.kill9()
            let killed = ContinuousClock.now
            // Its lease (1 minute) is far off: only the timeout can end it this soon.
            let failed = try await waitUntil(timeout: .seconds(20)) { try await Self.state(server, "orphan").status == 8 }
            #expect(failed, "not failed \(ContinuousClock.now - killed) after the kill")
            let messages = try await Self.state(server, "orphan").messages
            #expect(messages.last?.hasPrefix("timed out: still running 1s after its timeout ended") == true, "\(messages)")
        }
    }
}
