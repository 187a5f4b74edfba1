import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import NIOCore
import Testing

@testable import ClaiflowServer

/// The agents' long poll answered below the middlewares (``PollChannelHandler``): the same
/// answers as the router's route, and a parked poll that holds no task.
@Suite("Long poll below the middlewares")
struct PollChannelHandlerTests {
    /// One poll request of the comparison: query, bearer, extra headers.
    struct Call: Sendable, CustomStringConvertible {
        let query: String
        let key: Key
        var headers: [(String, String)] = []

        enum Key: Sendable { case none, agent, forged, admin, legacy }
        var description: String { "\(key) ?\(query) \(headers)" }
    }

    static let calls: [Call] = [
        Call(query: "wait=0", key: .none),
        Call(query: "wait=0", key: .forged),
        Call(query: "wait=0", key: .admin),
        Call(query: "wait=0", key: .legacy),
        Call(query: "wait=0", key: .agent),
        Call(query: "wait=abc", key: .agent),
        Call(query: "wait=-1", key: .agent),
        Call(query: "wait=abc", key: .none),
        Call(query: "wait=0&pretty", key: .agent),
        Call(query: "wait=0", key: .agent, headers: [("X-Request-Id", "agent-call-42")]),
        Call(query: "wait=0", key: .agent, headers: [("X-Request-Id", "not sane")]),
        Call(query: "limit=2&wait=0.2", key: .agent),
    ]

    /// What a reply says, minus what differs between two servers (the date, generated ids, times).
    static func comparable(_ r: TestServer.Reply) -> String {
        var lines = ["\(r.status)"]
        for (name, value) in r.headers {
            switch name.lowercased() {
            case "date":
                lines.append("date: \(value.count == 29 && value.hasSuffix(" GMT"))")
            case "x-request-id" where value != "agent-call-42":
                lines.append("x-request-id: generated \(value.count > 16 && value.allSatisfy(\.isHexDigit))")
            default:
                lines.append("\(name.lowercased()): \(value)")
            }
        }
        var body = r.body
        if case .array(let items) = r.json, !items.isEmpty {
            body = JSONValue.array(
                items.map { item in
                    guard case .object(var o) = item else { return item }
                    o["created"] = nil
                    return .object(o)
                }
            ).serialized()
        }
        lines.append(body)
        return lines.joined(separator: "\n")
    }

    /// The replies of `calls` on a server, after a service `svc` was queued for its agent, and
    /// its request metrics of the poll route.
    static func replies(below: Bool) async throws -> (replies: [String], metrics: [String]) {
        try await TestServer.with(configure: { $0.pollsBelowResponder = below }) { s in
            let token = try await AgentAPITests.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            try await AgentAPITests.create(s, "svc")
            var replies: [String] = []
            for call in calls {
                var headers = call.headers
                let key: String?
                switch call.key {
                case .none: key = nil
                case .agent: key = agent.jwt
                case .forged: key = agent.jwt + "x"
                case .admin: key = TestServer.adminToken
                case .legacy:
                    key = nil
                    headers.append(("x-sudory-client-token", agent.jwt))
                }
                let r = try await s.request(.GET, "/api/v1/client/service?\(call.query)", key: key, headers: headers)
                replies.append(comparable(r))
            }
            let metrics = try await s.request(.GET, "/metrics").body.split(separator: "\n").filter {
                $0.contains(#"route="/api/v1/client/service""#) && ($0.contains("requests_total") || $0.contains("_count"))
            }
            return (replies, metrics.map(String.init).sorted())
        }
    }

    @Test("the same statuses, headers, bodies, request ids and metrics as the router's route")
    func sameAnswers() async throws {
        let below = try await Self.replies(below: true)
        let router = try await Self.replies(below: false)
        for (i, call) in Self.calls.enumerated() {
            #expect(below.replies[i] == router.replies[i], "\(call)")
        }
        #expect(below.replies[0].hasPrefix("401"))
        #expect(below.replies[5].hasPrefix("400"))
        #expect(below.replies.contains { $0.contains(#""uuid":"svc""#) })
        #expect(!below.metrics.isEmpty)
        #expect(below.metrics == router.metrics)
    }

    /// A raw connection with a poll parked on it.
    static func parked(_ s: TestServer, wait: Int = 50) async throws -> RawConnection {
        let token = try await AgentAPITests.setUp(s)
        let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
        let connection = try await RawConnection.open(port: s.port)
        await connection.send(
            "GET /api/v1/client/service?wait=\(wait) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(agent.jwt)\r\n\r\n")
        #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
        return connection
    }

    @Test("a client that closes its connection, or only its sending side, frees its parked poll's slot at once")
    func closedClientFreesSlot() async throws {
        try await TestServer.with { s in
            let closing = try await Self.parked(s)
            await closing.close()
            #expect(try await waitUntil(timeout: .seconds(5)) { s.app.agents.parkedPolls == 0 })

            let halfClosing = try await RawConnection.open(port: s.port, halfClosure: true)
            let agent = try await TestAgent.connect(
                s, cluster: "c1",
                token: try #require(
                    try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"b","cluster_uuid":"c1"}"#).string(
                        "token")))
            await halfClosing.send(
                "GET /api/v1/client/service?wait=50 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(agent.jwt)\r\n\r\n")
            #expect(try await waitUntil { s.app.agents.parkedPolls == 1 })
            try await halfClosing.channel.close(mode: .output)
            #expect(try await waitUntil(timeout: .seconds(5)) { s.app.agents.parkedPolls == 0 })
            await halfClosing.close()
        }
    }

    @Test("a graceful shutdown answers a parked poll with 200 [] and then closes its connection")
    func shutdownAnswersParkedPoll() async throws {
        let connection = try await TestServer.with { s in try await Self.parked(s) }
        let ending = try await connection.ending(within: .seconds(20))
        #expect(ending.closedByServer)
        #expect(ending.received.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(ending.received)")
        #expect(ending.received.hasSuffix("\r\n\r\n[]\n"), "\(ending.received)")
    }

    @Test("requests pipelined behind a poll are answered after it, in order")
    func pipelinedBehindPoll() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let connection = try await RawConnection.open(port: s.port)
            let poll = "GET /api/v1/client/service?wait=0.3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(agent.jwt)\r\n\r\n"
            await connection.send(poll + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + poll)
            #expect(
                try await waitUntil(timeout: .seconds(30)) {
                    connection.receivedSoFar.components(separatedBy: "HTTP/1.1 ").count == 4
                })
            let replies = connection.receivedSoFar.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(replies.map { $0.hasSuffix("\r\n\r\n[]\n") } == [true, false, true], "\(replies)")
            await connection.close()
        }
    }

    @Test("the Date header's format")
    func httpDate() {
        #expect(HTTPDate.format(unixSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(unixSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.now.count == 29)
    }
}
