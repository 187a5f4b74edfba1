import AsyncHTTPClient
import ClaiflowAgent
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The agent's `--health-port` endpoint over real HTTP, with a real agent and server on loopback.
@Suite("Agent health endpoint", .serialized)
struct AgentHealthEndpointTests {
    /// The status and body of `GET path` on the endpoint.
    static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 16)
        return (Int(response.status.code), String(buffer: body))
    }

    @Test("/healthz answers 200 at once; /readyz answers 503 until the agent holds a session, 200 then, 503 once it is refused")
    func readiness() async throws {
        try await Harness.with { h in
            let runtime = Mutex<AgentRuntime?>(nil)
            let port = Mutex<Int?>(nil)
            var logger = Logger(label: "test-health")
            logger.logLevel = .critical
            let health = AgentHealthEndpoint.application(
                host: "127.0.0.1", port: 0, isReady: { runtime.withLock { $0?.hasSession ?? false } },
                onServerRunning: { bound in port.withLock { $0 = bound } }, logger: logger)
            let group = ServiceGroup(services: [health], logger: logger)
            let task = Task { try await group.run() }
            defer { task.cancel() }
            #expect(try await waitUntil { port.withLock { $0 } != nil })
            let bound = try #require(port.withLock { $0 })

            #expect(try await Self.get(bound, "/healthz") == (200, "ok\n"))
            #expect(try await Self.get(bound, "/readyz") == (503, "no session with the server\n"))
            #expect(try await Self.get(bound, "/metrics").0 == 404)

            let agent = h.startAgent(h.configuration())
            runtime.withLock { $0 = agent.runtime }
            #expect(try await waitUntil { try await Self.get(bound, "/readyz").0 == 200 })
            #expect(try await Self.get(bound, "/readyz") == (200, "ready\n"))

            // The token is deleted: the server refuses the session and every new handshake.
            #expect(try await h.server.request(.DELETE, "/api/v1/cluster_token/t-c1").status == 200)
            #expect(try await waitUntil { try await Self.get(bound, "/readyz").0 == 503 })
            #expect(try await Self.get(bound, "/healthz").0 == 200, "the process is still up")

            try await agent.shutdown()
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }
}
