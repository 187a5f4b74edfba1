import ClaiflowAgent
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Logging
import Testing

/// What the agent logs about services it interrupts at shutdown.
@Suite("Agent shutdown log")
struct AgentShutdownLogTests {
    @Test("a service interrupted at shutdown is logged as ended failed, as the server records it, not canceled")
    func interruptedLoggedFailed() async throws {
        try await Harness.with { h in
            let logs = CapturedLogs()
            var configuration = h.configuration(workers: 1)
            configuration.shutdownGrace = .milliseconds(300)
            let agent = h.startAgent(configuration, logger: logs.logger(label: "test-agent", level: .info))
            try await h.createService(
                "stuck",
                flow: #"[{"$id":"w","$command":"test.gate","inputs":{"name":"never"}},{"$id":"e","$command":"test.echo"}]"#)
            #expect(try await waitUntil { h.gates.reached("never") })
            #expect(try await h.waitForStatus("stuck", [2]))
            try await agent.shutdown()
            let stuck = try await h.state("stuck")
            #expect(stuck.status == 8)
            let ended = { logs.records.first { $0.message == "service ended" && $0.metadata["service_uuid"] == "stuck" } }
            #expect(try await waitUntil(timeout: .seconds(5)) { ended() != nil })
            let record = try #require(ended())
            #expect(record.metadata["status"] == "failed", "\(record.metadata)")
            let error = record.metadata["error"].map { "\($0)" } ?? ""
            #expect(error.hasPrefix("agent shutting down"), "\(record.metadata)")
            #expect(stuck.messages.last == error)
        }
    }
}
