import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import ClaiflowServer

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP connection limits")
struct ConnectionLimitTests {
    /// The head of a request that never finishes.
    static let halfHead = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sl"

    @Test(
        "a flood of stalled connections past the cap: never more than the cap open, the extra ones get 503 at once, the stalled ones are cut at the header timeout, /healthz answers"
    )
    func flood() async throws {
        let headerTimeout = Duration.seconds(3)
        try await TestServer.with(configure: { c in
            c.maxConnections = 50
            c.headerTimeout = .seconds(3)
        }) { s in
            let flood = try await withThrowingTaskGroup(of: RawConnection.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let c = try await RawConnection.open(port: s.port)
                        await c.send(Self.halfHead)
                        return c
                    }
                }
                return try await group.reduce(into: [RawConnection]()) { $0.append($1) }
            }
            #expect(try await waitUntil(timeout: .seconds(10)) { s.app.connections.openConnections == 50 })
            // While the cap is full /healthz is answered at once (503, or 200 if stalled ones were cut meanwhile).
            let late = try await RawConnection.open(port: s.port)
            await late.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let lateEnd = try await late.ending(within: .seconds(10))
            #expect(lateEnd.closedByServer, "\(lateEnd)")
            #expect(lateEnd.received.hasPrefix("HTTP/1.1 503") || lateEnd.received.hasPrefix("HTTP/1.1 200"), "\(lateEnd)")

            var endings: [RawConnection.Ending] = []
            for c in flood { endings.append(try await c.ending(within: .seconds(15))) }
            #expect(endings.filter { !$0.closedByServer }.isEmpty)
            // Each connection was either refused at once with a 503, or admitted and cut (nothing
            // received) at the header timeout: not before it, and not long after.
            let refused = endings.filter { $0.received.hasPrefix("HTTP/1.1 503") }
            let cut = endings.filter { $0.received.isEmpty }
            #expect(refused.count + cut.count == 200, "\(endings.map(\.received))")
            #expect(refused.count >= 100, "\(refused.count) refused")
            let early = cut.filter { $0.after < headerTimeout - .milliseconds(100) || $0.after > headerTimeout + .seconds(10) }
            #expect(early.isEmpty, "\(cut.map(\.after))")
            #expect(s.app.connections.peakConnections == 50)

            // The server answers again, and the slots were all given back.
            #expect(try await s.request(.GET, "/healthz").status == 200)
            #expect(try await waitUntil(timeout: .seconds(10)) { s.app.connections.openConnections <= 1 })
        }
    }

    @Test("the default cap: ¾ of the open-file limit, at most 50,000 (room for 10,000 parked agents and more)")
    func defaultCap() {
        #expect(ConnectionLimiter.defaultMaximum(openFiles: 1024) == 768)
        #expect(ConnectionLimiter.defaultMaximum(openFiles: 20_000) == 15_000)
        #expect(ConnectionLimiter.defaultMaximum(openFiles: 1_048_576) == 50_000)
        #expect(ConnectionLimiter.defaultMaximum(openFiles: nil) == 50_000)
        #expect(ConnectionLimiter.defaultMaximum(openFiles: 10) == 16)
    }

    @Test("the server raises its soft open-file limit to the hard limit")
    func openFileLimitRaised() throws {
        var limit = rlimit()
        try #require(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let hard = limit.rlim_max
        // Lower the soft limit by one (harmless to the tests running alongside), then raise it.
        if limit.rlim_cur == hard, hard > 1, hard != rlim_t.max {
            limit.rlim_cur = hard - 1
            try #require(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
            #expect(OpenFileLimit.current == Int(clamping: hard - 1))
        }
        #expect(OpenFileLimit.raiseToHard() == Int(clamping: hard))
        #expect(OpenFileLimit.current == Int(clamping: hard))
    }

    @Test("the HTTP port listens with a backlog for thousands of agents connecting at once, not Hummingbird's 256")
    func listenBacklog() async throws {
        try await TestServer.with { s in
            #expect(s.app.application.configuration.backlog == ConnectionLimiter.listenBacklog)
            #expect(ConnectionLimiter.listenBacklog >= 4096)
        }
    }

    @Test(
        "idle keep-alive connections close after the idle timeout; a later request's head must arrive within the header timeout")
    func idleAndHeaderTimeouts() async throws {
        try await TestServer.with(configure: { c in
            c.idleTimeout = .seconds(1)
            c.headerTimeout = .seconds(1)
        }) { s in
            // A connection that sends nothing is closed at the header timeout.
            let silent = try await RawConnection.open(port: s.port)
            let silentEnd = try await silent.ending(within: .seconds(5))
            #expect(silentEnd.closedByServer && silentEnd.received.isEmpty)
            #expect(silentEnd.after >= .milliseconds(900) && silentEnd.after < .seconds(4), "\(silentEnd.after)")

            // One request, then nothing: answered, then closed at the idle timeout.
            let idle = try await RawConnection.open(port: s.port)
            await idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let idleEnd = try await idle.ending(within: .seconds(5))
            #expect(idleEnd.closedByServer && idleEnd.received.hasPrefix("HTTP/1.1 200"), "\(idleEnd)")
            #expect(idleEnd.after >= .milliseconds(900) && idleEnd.after < .seconds(4), "\(idleEnd.after)")
        }
    }

    @Test("a later request that stalls halfway through its head is cut at the header timeout, long before the idle timeout")
    func laterHeadTimesOut() async throws {
        try await TestServer.with(configure: { c in
            c.idleTimeout = .seconds(30)
            c.headerTimeout = .seconds(1)
        }) { s in
            let c = try await RawConnection.open(port: s.port)
            await c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await waitUntil(timeout: .seconds(5)) { c.receivedSoFar.contains("\"ok\"") })
            await c.send(Self.halfHead)
            let end = try await c.ending(within: .seconds(10))
            #expect(end.closedByServer && end.received.hasPrefix("HTTP/1.1 200"), "\(end)")
            #expect(end.after >= .milliseconds(900) && end.after < .seconds(5), "\(end.after)")
        }
    }

    @Test("a stalled head pipelined behind a request (in the same packet) is still cut, by the idle timeout")
    func pipelinedHeadIsBounded() async throws {
        try await TestServer.with(configure: { c in
            c.idleTimeout = .seconds(2)
            c.headerTimeout = .seconds(1)
        }) { s in
            let c = try await RawConnection.open(port: s.port)
            await c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + Self.halfHead)
            let end = try await c.ending(within: .seconds(10))
            #expect(end.closedByServer && end.received.hasPrefix("HTTP/1.1 200"), "\(end)")
            #expect(end.after >= .milliseconds(1900) && end.after < .seconds(6), "\(end.after)")
        }
    }

    @Test("a parked long poll is a request in progress: neither the idle nor the header timeout cuts it")
    func parkedPollOutlivesTimeouts() async throws {
        try await TestServer.with(configure: { c in
            c.idleTimeout = .seconds(1)
            c.headerTimeout = .seconds(1)
        }) { s in
            let token = try await AgentAPITests.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let start = ContinuousClock.now
            let r = try await agent.poll(wait: 3)
            #expect(r.status == 200, "\(r.body)")
            #expect(r.array.isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(2900))
        }
    }

    /// A request head with a body over the 1 MiB limit (`Content-Length` or chunked, with or
    /// without `Connection: close`).
    static func oversized(path: String, chunked: Bool, close: Bool) -> String {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestServer.adminToken)\r\n"
        head += "Content-Type: application/json\r\n"
        head += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(4 << 20)\r\n"
        if close { head += "Connection: close\r\n" }
        return head + "\r\n"
    }

    @Test(
        "a body over the limit, sent whole by a client that reads only after sending: 413, and the connection ends",
        arguments: [(false, true), (true, false), (true, true), (false, false)])
    func tooLargeIsDrainedAndCloses(chunked: Bool, close: Bool) async throws {
        try await TestServer.with { s in
            let c = try await RawConnection.open(port: s.port, halfClosure: true)
            let size = 16 << 20
            let sent = Mutex(false)
            let uploading = Task {
                var head = Self.oversized(path: "/api/v1/cluster", chunked: chunked, close: close)
                if !chunked {
                    head = head.replacingOccurrences(of: "Content-Length: \(4 << 20)", with: "Content-Length: \(size)")
                }
                await c.send(head)
                let chunk = 1 << 20
                for _ in 0..<(size / chunk) {
                    if chunked { await c.send(String(chunk, radix: 16) + "\r\n") }
                    guard (try? await c.channel.writeAndFlush(ByteBuffer(repeating: UInt8(ascii: "x"), count: chunk))) != nil
                    else { return }
                    if chunked { await c.send("\r\n") }
                }
                if chunked { await c.send("0\r\n\r\n") }
                sent.withLock { $0 = true }
            }
            let end = try await c.ending(within: .seconds(10))
            #expect(end.closedByServer, "the connection stayed open")
            #expect(end.received.hasPrefix("HTTP/1.1 413"), "\(end.received)")
            #expect(end.received.lowercased().contains("connection: close"))
            // The server read (and dropped) the rest of the body: the upload finished.
            #expect(try await waitUntil(timeout: .seconds(10)) { sent.withLock { $0 } })
            uploading.cancel()
            await c.close()
            #expect(try await s.request(.GET, "/api/v1/cluster").array.isEmpty)
        }
    }

    @Test(
        "a body over the limit: 413, then the connection closes, whatever the client still sends or withholds",
        arguments: [(false, true), (true, false), (true, true), (false, false)])
    func tooLargeCloses(chunked: Bool, close: Bool) async throws {
        try await TestServer.with { s in
            let c = try await RawConnection.open(port: s.port)
            await c.send(Self.oversized(path: "/api/v1/cluster", chunked: chunked, close: close))
            // 1.5 MiB of the announced body, then the client stalls (it would send the rest only
            // if it were read).
            for _ in 0..<6 {
                if chunked {
                    await c.send(String(256 << 10, radix: 16) + "\r\n")
                    await c.send(bytes: 256 << 10)
                    await c.send("\r\n")
                } else {
                    await c.send(bytes: 256 << 10)
                }
            }
            let end = try await c.ending(within: .seconds(10))
            #expect(end.closedByServer, "the connection stayed open")
            #expect(end.received.hasPrefix("HTTP/1.1 413"), "\(end.received)")
            #expect(end.received.lowercased().contains("connection: close"))
            #expect(end.received.contains("larger than"))
            #expect(end.after < .seconds(5), "\(end.after)")
            // Nothing was created, and the server goes on.
            #expect(try await s.request(.GET, "/api/v1/cluster").array.isEmpty)
        }
    }

    @Test("publishing to a webhook with a body over the limit is a 413 like every other endpoint")
    func publishTooLarge() async throws {
        try await TestServer.with { s in
            let hook = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"http://127.0.0.1:9/hook","method":"POST"}"#)
            #expect(hook.status == 200, "\(hook.body)")
            let big = #"{"inputs":{"x":""# + String(repeating: "y", count: 1_100_000) + #""}}"#
            let r = try await s.request(.POST, "/api/v1/webhook/h1/publish", json: big)
            #expect(r.status == 413, "\(r.body)")
            #expect(r.message.contains("larger than"))
            #expect(r.headers["connection"].first?.lowercased() == "close")
            // Raw, with a body the client stops sending: 413, then closed.
            let c = try await RawConnection.open(port: s.port)
            await c.send(Self.oversized(path: "/api/v1/webhook/h1/publish", chunked: false, close: false))
            await c.send(bytes: 1_200_000)
            let end = try await c.ending(within: .seconds(10))
            #expect(end.closedByServer && end.received.hasPrefix("HTTP/1.1 413"), "\(end.received)")
        }
    }
}
