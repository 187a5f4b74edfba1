import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Testing

/// The whole system as a user runs it: a real server, a real `claiflow agent` process and a real
/// Prometheus on loopback.
@Suite("End to end: server, agent process, Prometheus", .enabled(if: PrometheusProcess.shouldRun), .serialized)
struct AgentProcessTests {
    /// The `claiflow` binary built next to these tests.
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/claiflow")
    }

    /// Starts `claiflow agent` for a cluster; its log goes to a file shown when a test fails.
    static func startAgent(port: Int, cluster: String, token: String) throws -> (Process, URL) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(Identifier.generate()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        return (try AgentProcess.launch(serverPort: port, cluster: cluster, token: token, workers: 2, log: log), log)
    }

    static func statuses(_ s: RunningServer, _ uuid: String) async throws -> [(Int64, Int64, String?)] {
        let d = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        guard case .array(let rows)? = d.json?.field("statuses") else { return [] }
        return rows.map { r in
            let seq: Int64 = if case .integer(let i)? = r.field("step_seq") { i } else { -1 }
            let st: Int64 = if case .integer(let i)? = r.field("status") { i } else { -1 }
            let msg: String? = if case .string(let m)? = r.field("message") { m } else { nil }
            return (seq, st, msg)
        }
    }

    static func current(_ s: RunningServer, _ uuid: String) async throws -> Int64? {
        try await statuses(s, uuid).last?.1
    }

    @Test("a flow with a Prometheus query, $range and output passing; a server restart mid-run; cancel; an agent killed mid-step")
    func endToEnd() async throws {
        let prometheus = try PrometheusProcess()
        defer { prometheus.stop() }
        try await prometheus.waitUntilReady()
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.sqlite)
        var server = try await RunningServer.start(databaseURL: url)
        let port = server.port
        _ = try await server.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
        let token = try #require(
            try await server.request(.POST, "/api/v1/cluster_token", json: #"{"name":"a","cluster_uuid":"c1"}"#).string("token"))
        let (agent, agentLog) = try Self.startAgent(port: port, cluster: "c1", token: token)
        defer {
            if agent.isRunning { agent.terminate() }
        }
        do {
            // 1. A Prometheus query, then an iteration over its result passing values along.
            let flow = #"""
                [{"$id":"q","$command":"prometheus.query.v1","inputs":{"url":"\#(prometheus.baseURL)","query":"up"}},
                 {"$id":"each","$range":"$q.outputs.result","$steps":[
                   {"$id":"e","$command":"claiflow.echo","inputs":{"job":"$each.val.metric.job","up":"$each.val.value[1]"}}]}]
                """#
            _ = try await server.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"prom","flow":\#(flow)}"#)
            #expect(try await waitUntil(timeout: .seconds(30)) { try await Self.current(server, "prom") == 4 })
            let result = try await server.request(.GET, "/api/v1/cluster/c1/service/prom/result")
            #expect(
                result.string("result").flatMap { try? JSONValue.parse($0) }
                    == .array([.object(["job": .string("prometheus"), "up": .string("1")])]))

            // 2. The server stops and comes back on the same port while a service runs.
            let slow =
                #"[{"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":2}},{"$id":"e","$command":"claiflow.echo","inputs":{"done":true}}]"#
            _ = try await server.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"restart","flow":\#(slow)}"#)
            #expect(try await waitUntil(timeout: .seconds(20)) { try await Self.current(server, "restart") == 2 })
            await server.stop()
            server = try await RunningServer.start(databaseURL: url, port: port)
            #expect(try await waitUntil(timeout: .seconds(60)) { try await Self.current(server, "restart") == 4 })

            // 3. Cancel stops a claiflow.sleep service at its next step boundary.
            let sleeps =
                #"[{"$id":"a","$command":"claiflow.sleep","inputs":{"seconds":1}},{"$id":"b","$command":"claiflow.sleep","inputs":{"seconds":1}},{"$id":"c","$command":"claiflow.echo"}]"#
            _ = try await server.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"cancel","flow":\#(sleeps)}"#)
            #expect(try await waitUntil(timeout: .seconds(20)) { try await Self.current(server, "cancel") == 2 })
            _ = try await server.request(.POST, "/api/v1/cluster/c1/service/cancel/cancel")
            #expect(try await waitUntil(timeout: .seconds(20)) { try await Self.current(server, "cancel") == 16 })
            #expect(try await Self.statuses(server, "cancel").allSatisfy { $0.0 < 2 })

            // 4. The agent dies mid-step: the server ends the service "agent lost".
            let g = KnownGlobalVariable.clientSessionExpirationTime.uuid
            _ = try await server.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"2s"}"#)
            let long = #"[{"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":60}}]"#
            _ = try await server.request(.POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"killed","flow":\#(long)}"#)
            #expect(try await waitUntil(timeout: .seconds(30)) { try await Self.current(server, "killed") == 2 })
            kill(agent.processIdentifier, SIGKILL)
            ProcessLauncher.waitUntilExit(agent)
            #expect(try await waitUntil(timeout: .seconds(20)) { try await Self.current(server, "killed") == 8 })
            #expect(try await Self.statuses(server, "killed").last?.2?.contains("agent lost") == true)
        } catch {
            let text = (try? String(contentsOf: agentLog, encoding: .utf8)) ?? ""
            Issue.record(Comment(rawValue: "agent log:\n\(text)"))
            throw error
        }
        await server.stop()
        try await cleanup()
    }
}
