import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

/// The flow language v2 run by a real `claiflow agent` process against a real server.
@Suite("End to end: flow language v2 with a server and an agent process", .serialized)
struct FlowV2EndToEndTests {
    struct Row {
        var sequence: Int64
        var status: Int64
        var message: String?
        var started: Timestamp?
        var ended: Timestamp?
    }

    static func rows(_ s: RunningServer, _ uuid: String) async throws -> [Row] {
        let d = try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        guard case .array(let rows)? = d.json?.field("statuses") else { return [] }
        return rows.map { r in
            func text(_ key: String) -> String? { if case .string(let s)? = r.field(key) { s } else { nil } }
            func int(_ key: String) -> Int64 { if case .integer(let i)? = r.field(key) { i } else { -1 } }
            return Row(
                sequence: int("step_seq"), status: int("status"), message: text("message"),
                started: text("started").flatMap(Timestamp.init(parsing:)), ended: text("ended").flatMap(Timestamp.init(parsing:))
            )
        }
    }

    static func result(_ s: RunningServer, _ uuid: String) async throws -> JSONValue? {
        try await s.request(.GET, "/api/v1/cluster/c1/service/\(uuid)/result").string("result").flatMap {
            try? JSONValue.parse($0)
        }
    }

    /// Waits until the service ends (succeeded 4, failed 8, canceled 16) and returns its rows.
    static func finished(_ s: RunningServer, _ uuid: String) async throws -> [Row] {
        _ = try await waitUntil(timeout: .seconds(60)) { [4, 8, 16].contains(try await rows(s, uuid).last?.status ?? 0) }
        return try await rows(s, uuid)
    }

    static func seconds(_ row: Row?) -> Double? {
        guard let started = row?.started, let ended = row?.ended else { return nil }
        return Double(ended.microseconds - started.microseconds) / 1e6
    }

    @Test("conditions, retries over HTTP, a step timeout, parallel sleeps, a failure handler and a result filter on a real agent")
    func v2Constructs() async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.sqlite)
        let server = try await RunningServer.start(databaseURL: url)
        let http = try FlakyHTTPServer()
        defer { http.stop() }
        _ = try await server.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
        let token = try #require(
            try await server.request(.POST, "/api/v1/cluster_token", json: #"{"name":"a","cluster_uuid":"c1"}"#).string("token"))
        let agent = try AgentProcess(serverPort: server.port, cluster: "c1", token: token, workers: 8)
        defer { agent.stop() }
        func create(_ uuid: String, _ flow: String, inputs: String = "{}") async throws {
            let reply = try await server.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"\#(uuid)","flow":\#(flow),"inputs":\#(inputs)}"#)
            #expect(reply.status == 200, "\(reply.body)")
        }
        do {
            let condition = """
                [{"$id":"a","$command":"claiflow.echo","inputs":{"n":"$inputs.n"}},
                 {"$id":"c","$if":".steps.a.outputs.n > 1","$then":[{"$id":"t","$command":"claiflow.echo","inputs":{"branch":"then"}}],
                  "$else":[{"$id":"e","$command":"claiflow.echo","inputs":{"branch":"else"}}]}]
                """
            try await create("cond-then", condition, inputs: #"{"n":2}"#)
            try await create("cond-else", condition, inputs: #"{"n":0}"#)
            let drop = """
                [{"$id":"h","$command":"http.request","inputs":{"url":"http://127.0.0.1:\(http.port)/drop","timeout":10},
                  "$retry":{"max_attempts":3,"backoff":"100ms"}}]
                """
            try await create("drop", drop)
            let five = """
                [{"$id":"h","$command":"http.request","inputs":{"url":"http://127.0.0.1:\(http.port)/500"},
                  "$retry":{"max_attempts":3,"backoff":"100ms","until":".status < 500"},"$result":".body"}]
                """
            try await create("five", five)
            let handler = """
                [{"$id":"bad","$command":"claiflow.sleep","inputs":{},"$continue":true,
                  "$on_failure":[{"$id":"h","$command":"claiflow.echo","inputs":{"message":"$error.message","step":"$error.step","attempts":"$error.attempts"}}]},
                 {"$id":"z","$command":"claiflow.echo","inputs":{"handled":"$bad.outputs"}}]
                """
            try await create("handler", handler)
            let filter = """
                [{"$id":"pods","$command":"claiflow.echo","inputs":{"items":[{"metadata":{"name":"web-0","labels":{"a":"b"}}},{"metadata":{"name":"web-1"}}]},
                  "$result":".items | map(.metadata.name)"}]
                """
            try await create("filter", filter)

            // A condition on a previous step's output, taking each branch.
            #expect(try await Self.finished(server, "cond-then").last?.status == 4)
            #expect(try await Self.result(server, "cond-then") == .object(["branch": .string("then")]))
            #expect(try await Self.finished(server, "cond-else").last?.status == 4)
            #expect(try await Self.result(server, "cond-else") == .object(["branch": .string("else")]))

            // The connection dropped twice, then an answer: three attempts, each visible.
            let dropped = try await Self.finished(server, "drop")
            #expect(dropped.last?.status == 4)
            #expect(http.calls("/drop") == 3)
            #expect(try await Self.result(server, "drop")?.field("status") == .integer(200))
            let dropMessages = dropped.compactMap(\.message)
            #expect(
                dropMessages.contains { $0.hasPrefix(#"step "h": attempt 2 of 3; attempt 1: command "http.request" failed: "#) })
            #expect(
                dropMessages.contains { $0.hasPrefix(#"step "h": attempt 3 of 3; attempt 2: command "http.request" failed: "#) })

            // 500 twice, retried by `until`; `$result` keeps the body.
            let fives = try await Self.finished(server, "five")
            #expect(fives.last?.status == 4)
            #expect(http.calls("/500") == 3)
            #expect(try await Self.result(server, "five") == .object(["calls": .integer(3)]))
            #expect(fives.compactMap(\.message).filter { $0.contains("do not satisfy $retry.until") }.count == 2)

            // The timed services run alone, once the others have ended, so that they compete with
            // nothing else of this test for the agent and the CPU.
            _ = try await Self.finished(server, "handler")
            _ = try await Self.finished(server, "filter")
            try await create("timeout", #"[{"$id":"s","$command":"claiflow.sleep","inputs":{"seconds":60},"$timeout":"1s"}]"#)
            let parallel = """
                [{"$id":"p","$parallel":[[{"$id":"s1","$command":"claiflow.sleep","inputs":{"seconds":1}}],
                                         [{"$id":"s2","$command":"claiflow.sleep","inputs":{"seconds":1}}]]}]
                """
            try await create("parallel", parallel)
            // `$timeout` on a 60 s sleep: failed "timed out after 1s" within the timeout plus a second.
            let timedOut = try await Self.finished(server, "timeout")
            #expect(timedOut.last?.status == 8)
            #expect(timedOut.last?.message == #"step "s": timed out after 1s"#)
            let timeoutSeconds = try #require(Self.seconds(timedOut.last))
            #expect(timeoutSeconds >= 1 && timeoutSeconds < 2, "\(timeoutSeconds) s")

            // Two 1 s sleeps in parallel take about 1 s, not 2.
            let parallelRows = try await Self.finished(server, "parallel")
            #expect(parallelRows.last?.status == 4)
            let parallelSeconds = try #require(Self.seconds(parallelRows.last))
            // One after the other they would take at least 2 s.
            #expect(parallelSeconds >= 1 && parallelSeconds < 1.95, "\(parallelSeconds) s")
            #expect(
                try await Self.result(server, "parallel")
                    == .array([.object(["seconds": .integer(1)]), .object(["seconds": .integer(1)])]))

            // The handler sees `$error`; with `$continue` the flow goes on with its outputs.
            #expect(try await Self.finished(server, "handler").last?.status == 4)
            #expect(
                try await Self.result(server, "handler")
                    == .object([
                        "handled": .object([
                            "message": .string(#"step "bad": command "claiflow.sleep" failed: "seconds" is required"#),
                            "step": .string("bad"), "attempts": .integer(1),
                        ])
                    ]))

            // `$result` shrinks what is stored.
            #expect(try await Self.finished(server, "filter").last?.status == 4)
            #expect(try await Self.result(server, "filter") == .array([.string("web-0"), .string("web-1")]))
        } catch {
            Issue.record(Comment(rawValue: "agent log:\n\(agent.logText)"))
            throw error
        }
        await server.stop()
        try await cleanup()
    }
}
