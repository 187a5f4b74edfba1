import ClaiflowAgent
import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Synchronization
import Testing

/// The agent runtime against a real server on loopback. Serialized: several tests depend on
/// timing (leases of a few seconds) that a loaded machine would stretch.
@Suite("Agent runtime", .serialized)
struct AgentRuntimeTests {
    @Test("a 3-step flow with $range and output passing completes with the expected result and statuses")
    func threeSteps() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration())
            try await h.createService(
                "three",
                flow: """
                    [{"$id":"list","$command":"test.echo","inputs":{"items":"$inputs.items"}},
                     {"$id":"each","$range":"$list.outputs.items","$steps":[{"$id":"sq","$command":"test.square","inputs":{"n":"$each.val"}}]},
                     {"$id":"total","$command":"test.sum","inputs":{"values":"$each.outputs"}}]
                    """,
                inputs: #"{"items":[1,2,3]}"#)
            #expect(try await h.waitForStatus("three", [4, 8, 16]))
            let state = try await h.state("three")
            #expect(state.status == 4)
            // regist, sent, then processing/succeeded per step (intermediate successes are stored as processing).
            #expect(state.statuses == [0, 1, 2, 2, 2, 2, 2, 4])
            #expect(try await h.result("three") == "14")
            try await agent.shutdown()
        }
    }

    @Test("a failing step ends the service failed with its message; later steps never run")
    func failingStep() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration())
            try await h.createService(
                "fails",
                flow: """
                    [{"$id":"a","$command":"test.echo","inputs":{"x":1}},
                     {"$id":"b","$command":"test.fail","inputs":{"message":"pods is forbidden"}},
                     {"$id":"c","$command":"test.mark","inputs":{"name":"after-failure"}}]
                    """)
            #expect(try await h.waitForStatus("fails", [4, 8, 16]))
            let state = try await h.state("fails")
            #expect(state.status == 8)
            #expect(state.statuses == [0, 1, 2, 2, 2, 8])
            #expect(state.messages.last?.contains("pods is forbidden") == true)
            #expect(!h.gates.reached("after-failure"))
            #expect(try await h.result("fails") == nil)
            try await agent.shutdown()
        }
    }

    @Test("an invalid inputs reference fails step 0 before anything runs")
    func badInputs() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration())
            try await h.createService(
                "bad-inputs", flow: #"[{"$id":"a","$command":"test.mark","inputs":{"name":"$inputs.missing.deeper"}}]"#,
                inputs: #"{"x":1}"#)
            #expect(try await h.waitForStatus("bad-inputs", [4, 8, 16]))
            let state = try await h.state("bad-inputs")
            #expect(state.status == 8)
            #expect(state.statuses == [0, 1, 8])
            #expect(!h.gates.reachedNames.contains { $0 != "" })
            try await agent.shutdown()
        }
    }

    @Test("cancel: the running step is interrupted and the service ends canceled; the next step never runs")
    func cancel() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration())
            try await h.createService(
                "long",
                flow: """
                    [{"$id":"wait","$command":"test.gate","inputs":{"name":"cancel-gate"}},
                     {"$id":"next","$command":"test.mark","inputs":{"name":"after-cancel"}},
                     {"$id":"last","$command":"test.echo"}]
                    """)
            #expect(try await waitUntil { h.gates.reached("cancel-gate") })
            let canceled = try await h.server.request(.POST, "/api/v1/cluster/c1/service/long/cancel")
            #expect(canceled.json?.field("cancel_requested") == .bool(true))
            // The gate stays closed: the step ends only because the cancel interrupts it (opening
            // it here would race the cancellation watch and let the step succeed first).
            #expect(try await h.waitForStatus("long", [4, 16]))
            h.gates.open("cancel-gate")
            let state = try await h.state("long")
            #expect(state.status == 16)
            // The cancellation watch interrupts the waiting step at once: it is reported failed
            // ("canceled by an operator"), then the service ends canceled.
            #expect(state.statuses == [0, 1, 2, 8, 16])
            #expect(state.messages.contains("canceled by an operator"))
            #expect(try await waitUntil { agent.runtime.runningServiceUUIDs.isEmpty })
            #expect(!h.gates.reached("after-cancel"))
            try await agent.shutdown()
        }
    }

    @Test("a cancel seen on a step's processing report interrupts that step")
    func cancelBeforeStep() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration(workers: 1))
            try await h.createService(
                "two-gates",
                flow: """
                    [{"$id":"first","$command":"test.gate","inputs":{"name":"first-gate"}},
                     {"$id":"second","$command":"test.gate","inputs":{"name":"second-gate"}}]
                    """)
            #expect(try await waitUntil { h.gates.reached("first-gate") })
            try await h.server.request(.POST, "/api/v1/cluster/c1/service/two-gates/cancel")
            h.gates.open("first-gate")
            #expect(try await h.waitForStatus("two-gates", [4, 8, 16]))
            #expect(try await h.state("two-gates").status == 16)
            // The worker is free again although "second-gate" never opens.
            #expect(try await waitUntil { agent.runtime.runningServiceUUIDs.isEmpty })
            try await h.createService("after", flow: #"[{"$id":"a","$command":"test.echo","inputs":{"ok":true}}]"#)
            #expect(try await h.waitForStatus("after", [4, 8, 16]))
            #expect(try await h.state("after").status == 4)
            try await agent.shutdown()
        }
    }

    @Test("the server stops and restarts on the same port mid-run: the agent carries on and completes the service")
    func serverRestart() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration(workers: 2))
            try await h.createService(
                "survivor",
                flow: """
                    [{"$id":"wait","$command":"test.gate","inputs":{"name":"restart-gate"}},
                     {"$id":"done","$command":"test.echo","inputs":{"after":"restart"}}]
                    """)
            #expect(try await waitUntil { h.gates.reached("restart-gate") })
            #expect(try await h.waitForStatus("survivor", [2]))
            try await h.restartServer {
                // The step ends while the server is down: its report is retried until it is back.
                h.gates.open("restart-gate")
            }
            #expect(try await h.waitForStatus("survivor", [4, 8, 16], timeout: .seconds(30)))
            let state = try await h.state("survivor")
            #expect(state.status == 4)
            #expect(state.statuses == [0, 1, 2, 2, 2, 4])
            #expect(try await h.result("survivor") == #"{"after":"restart"}"#)
            // And it polls the new server.
            try await h.createService("after-restart", flow: #"[{"$id":"a","$command":"test.echo","inputs":{"n":2}}]"#)
            #expect(try await h.waitForStatus("after-restart", [4, 8, 16], timeout: .seconds(30)))
            #expect(try await h.state("after-restart").status == 4)
            try await agent.shutdown()
        }
    }

    @Test("graceful shutdown: a service that finishes within the grace succeeds, one that does not is reported failed")
    func gracefulShutdown() async throws {
        try await Harness.with { h in
            var configuration = h.configuration(workers: 2)
            configuration.shutdownGrace = .seconds(2)
            let agent = h.startAgent(configuration)
            try await h.createService(
                "quick",
                flow: #"[{"$id":"w","$command":"test.gate","inputs":{"name":"soon"}},{"$id":"e","$command":"test.echo"}]"#)
            try await h.createService(
                "stuck",
                flow: #"[{"$id":"w","$command":"test.gate","inputs":{"name":"never"}},{"$id":"e","$command":"test.echo"}]"#)
            #expect(try await waitUntil { h.gates.reached("soon") && h.gates.reached("never") })
            #expect(try await h.waitForStatus("quick", [2]))
            #expect(try await h.waitForStatus("stuck", [2]))
            let start = ContinuousClock.now
            async let stopped: Void = agent.shutdown()
            h.gates.open("soon")
            try await stopped
            #expect(ContinuousClock.now - start >= .seconds(2))
            #expect(try await h.state("quick").status == 4)
            let stuck = try await h.state("stuck")
            #expect(stuck.status == 8)
            #expect(stuck.messages.last?.hasPrefix("agent shutting down") == true, "\(stuck.messages)")
            // No more polling: a new service stays queued.
            try await h.createService("later", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
            #expect(try await h.state("later").statuses == [0])
        }
    }

    @Test("two services run concurrently on 2 workers")
    func concurrency() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration(workers: 2))
            for name in ["left", "right"] {
                try await h.createService(
                    name, flow: #"[{"$id":"m","$command":"test.meet","inputs":{"name":"\#(name)","all":["left","right"]}}]"#)
            }
            #expect(try await h.waitForStatus("left", [4, 8, 16]))
            #expect(try await h.waitForStatus("right", [4, 8, 16]))
            #expect(try await h.state("left").status == 4)
            #expect(try await h.state("right").status == 4)
            try await agent.shutdown()
        }
    }

    /// `configured`: the agent's keep-alive is set short; otherwise it keeps its 15 s default
    /// and must shorten it to a third of the 3 s window the server announces at the handshake.
    @Test(
        "all workers busy: no service is claimed, yet the session and the running service's lease stay alive",
        arguments: [true, false])
    func keepAliveWhileBusy(configured: Bool) async throws {
        try await Harness.with { h in
            let g = KnownGlobalVariable.clientSessionExpirationTime.uuid
            #expect(try await h.server.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"3s"}"#).status == 200)
            var configuration = h.configuration(workers: 1)
            if configured { configuration.keepAliveInterval = .milliseconds(300) }
            let seenWhileBusy = Mutex<[Int64]>([])
            let agent = h.startAgent(
                configuration,
                extraCommands: [
                    // Outlives the 3 s session window, then looks at the queued service.
                    "test.busy": { _ in
                        try await Task.sleep(for: .seconds(5))
                        let queued = try await h.state("queued")
                        seenWhileBusy.withLock { $0 = queued.statuses }
                        return .string("done")
                    }
                ])
            try await h.createService("busy", flow: #"[{"$id":"b","$command":"test.busy"}]"#)
            #expect(try await h.waitForStatus("busy", [2]))
            try await h.createService("queued", flow: #"[{"$id":"q","$command":"test.echo","inputs":{"q":1}}]"#)
            #expect(try await h.waitForStatus("busy", [4, 8, 16], timeout: .seconds(30)))
            let busy = try await h.state("busy")
            #expect(busy.status == 4, "\(busy.messages)")
            #expect(seenWhileBusy.withLock { $0 } == [0])
            #expect(try await h.waitForStatus("queued", [4, 8, 16]))
            #expect(try await h.state("queued").status == 4)
            try await agent.shutdown()
        }
    }

    @Test("rebounce: other services of the batch finish, the rebounce succeeds, then the agent stops by itself")
    func rebounce() async throws {
        try await Harness.with { h in
            try await h.createService(
                "normal",
                flow: #"[{"$id":"w","$command":"test.gate","inputs":{"name":"normal-gate"}},{"$id":"e","$command":"test.echo"}]"#)
            try await h.createService(
                "rebounce", flow: #"[{"$id":"step1","$command":"claiflow.client_pod.rebounce","inputs":{}}]"#)
            let agent = h.startAgent(h.configuration(workers: 3))
            #expect(try await h.waitForStatus("rebounce", [2]))
            #expect(try await waitUntil { h.gates.reached("normal-gate") })
            // While the rebounce waits, nothing new is claimed.
            try await h.createService("late", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
            #expect(!agent.hasExited)
            h.gates.open("normal-gate")
            #expect(try await agent.exited(within: .seconds(20)))
            #expect(try await h.state("normal").status == 4)
            let rebounce = try await h.state("rebounce")
            #expect(rebounce.status == 4)
            #expect(try await h.result("rebounce") == #""client pod rebounce will be complete""#)
            #expect(try await h.state("late").statuses == [0])
        }
    }

    @Test("a 401 makes the agent authenticate again; a refused handshake is retried until the token works again")
    func reauthenticate() async throws {
        try await Harness.with { h in
            let agent = h.startAgent(h.configuration(workers: 1))
            try await h.createService("before", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
            #expect(try await h.waitForStatus("before", [4, 8, 16]))
            #expect(try await waitUntil { h.server.app.agents.parkedPolls == 1 })
            // Rotating the token's secret ends the session (401); the old secret is refused (400)...
            #expect(
                try await h.server.request(.PUT, "/api/v1/cluster_token/t-c1", json: #"{"token":"a-rotated-secret-0123456789"}"#)
                    .status
                    == 200)
            #expect(try await waitUntil { h.server.app.agents.parkedPolls == 0 })
            // ...until an operator puts it back.
            #expect(
                try await h.server.request(.PUT, "/api/v1/cluster_token/t-c1", json: #"{"token":"\#(h.token)"}"#).status == 200)
            try await h.createService("after", flow: #"[{"$id":"a","$command":"test.echo","inputs":{"v":2}}]"#)
            #expect(try await h.waitForStatus("after", [4, 8, 16]))
            #expect(try await h.state("after").status == 4)
            try await agent.shutdown()
        }
    }

    @Test("an agent with a wrong token keeps retrying and shuts down cleanly")
    func wrongToken() async throws {
        try await Harness.with { h in
            var configuration = h.configuration()
            configuration.token = "not-the-token-0123456789"
            let agent = h.startAgent(configuration)
            try await h.createService("waiting", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
            #expect(!(try await agent.exited(within: .milliseconds(500))))
            #expect(try await h.state("waiting").statuses == [0])
            try await agent.shutdown()
        }
    }
}
