import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Crypto
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A real HTTP receiver on loopback that records what it gets and can fail on purpose.
final class Receiver: Sendable {
    struct Hit: Sendable {
        let headers: [String: String]
        let body: String
    }
    private let hits = Mutex<[Hit]>([])
    private let failFirst = Mutex<Int>(0)
    private let alwaysFail = Mutex(false)
    private let server: LoopbackServer
    var port: Int { server.port }

    var received: [Hit] { hits.withLock { $0 } }
    func fail(first n: Int) { failFirst.withLock { $0 = n } }
    func failAlways(_ on: Bool) { alwaysFail.withLock { $0 = on } }

    private init(server: LoopbackServer) {
        self.server = server
    }

    static func start() async throws -> Receiver {
        let box = ReceiverBox()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName.lowercased()] = f.value }
            return box.receiver?.record(Hit(headers: headers, body: String(buffer: body)))
                ?? Response(status: .internalServerError)
        }
        let r = Receiver(server: try await LoopbackServer.start(router))
        box.receiver = r
        return r
    }

    func record(_ hit: Hit) -> Response {
        let fail =
            alwaysFail.withLock { $0 }
            || failFirst.withLock { n in
                if n > 0 {
                    n -= 1
                    return true
                }
                return false
            }
        if fail { return Response(status: .serviceUnavailable) }
        hits.withLock { $0.append(hit) }
        return Response(status: .noContent)
    }

    func stop() async { await server.stop() }

    var url: String { server.hookURL }
}

final class ReceiverBox: @unchecked Sendable {
    var receiver: Receiver?
}

@Suite("Webhooks")
struct WebhookTests {
    static func agentRun(_ s: TestServer, service: String, steps: Int = 1, result: String = #"{"pods":3}"#) async throws {
        let token =
            try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"a","cluster_uuid":"c1"}"#).string("token") ?? ""
        let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
        _ = try await agent.poll()
        for i in 0..<steps {
            _ = try await agent.report(service, seq: i, status: 2)
            _ = try await agent.report(service, seq: i, status: 4, result: result, ended: "2026-01-01T00:00:01Z")
        }
    }

    static func payloads(_ r: Receiver) -> [JSONValue] { r.received.compactMap { try? JSONValue.parse($0.body) } }

    @Test("a service that names no webhook does not wake the deliverer; one that names a webhook does")
    func createWakesDelivererOnlyForWebhooks() async throws {
        let receiver = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let hook = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"\#(receiver.url)","method":"post"}"#)
            #expect(hook.status == 200, "\(hook.body)")
            let before = s.app.deliverer.pokes
            let plain = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"s1","flow":[{"$id":"a","$command":"claiflow.echo"}]}"#)
            #expect(plain.status == 200, "\(plain.body)")
            #expect(s.app.deliverer.pokes == before)
            let hooked = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"s2","flow":[{"$id":"a","$command":"claiflow.echo"}],"webhook":"h1"}"#)
            #expect(hooked.status == 200, "\(hooked.body)")
            #expect(s.app.deliverer.pokes > before)
            #expect(try await waitUntil { receiver.received.count >= 1 })
        }
        await receiver.stop()
    }

    @Test("every status change is delivered in order, signed the Standard Webhooks way, with the original's payload fields")
    func deliversSigned() async throws {
        let receiver = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let created = try await s.request(
                .POST, "/api/v1/webhook",
                json: #"{"uuid":"h1","name":"ops","url":"\#(receiver.url)","method":"post","headers":{"X-Team":["sre"]}}"#)
            #expect(created.status == 200, "\(created.body)")
            let secret = try #require(created.string("secret"))
            #expect(secret.hasPrefix("whsec_"))
            #expect(created.string("method") == "POST")
            #expect(try await s.request(.GET, "/api/v1/webhook/h1").string("secret") == nil)
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"s1","flow":[{"$id":"a","$command":"claiflow.echo"}],"inputs":{"env":"prod"},"webhook":"h1"}"#)
            try await Self.agentRun(s, service: "s1")
            #expect(try await waitUntil { receiver.received.count >= 4 })
            let statuses = Self.payloads(receiver).map { $0.field("status") }
            #expect(statuses == [.integer(0), .integer(1), .integer(2), .integer(4)])
            let last = try #require(Self.payloads(receiver).last)
            #expect(last.field("result") == .object(["pods": .integer(3)]))
            #expect(last.field("inputs") == .object(["env": .string("prod")]))
            #expect(last.field("service_uuid") == .string("s1"))
            #expect(last.field("status_description") == .string("succeeded"))
            #expect(last.field("step_ended") == .string("2026-01-01T00:00:01.000000Z"))
            #expect(Self.payloads(receiver)[2].field("result") == nil)  // an empty result is null
            // Standard Webhooks signature: v1, base64(HMAC-SHA256(key, id.timestamp.body)).
            for hit in receiver.received {
                let id = try #require(hit.headers["webhook-id"])
                let ts = try #require(hit.headers["webhook-timestamp"])
                let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst(6))) ?? Data())
                let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(ts).\(hit.body)".utf8), using: key)
                #expect(hit.headers["webhook-signature"] == "v1," + Data(mac).base64EncodedString())
                #expect(hit.headers["x-team"] == "sre")
            }
            // The outcome is recorded just after the receiver answered: wait for it.
            #expect(
                try await waitUntil {
                    let log = try await s.request(.GET, "/api/v1/webhook/h1/delivery")
                    return log.array.count == 4 && log.array.allSatisfy { $0.field("status") == .string("delivered") }
                })
        }
        await receiver.stop()
    }

    @Test("a receiver that fails for a while gets every event, in order; one that never recovers ends failed")
    func retries() async throws {
        let receiver = try await Receiver.start()
        receiver.fail(first: 3)
        try await TestServer.with(configure: { $0.webhookRetryInitial = GoDuration(nanoseconds: 20_000_000) }) { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"\#(receiver.url)","method":"POST"}"#)
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"s1","flow":[{"$id":"a","$command":"x"},{"$id":"b","$command":"x"}],"webhook":"h1"}"#)
            try await Self.agentRun(s, service: "s1", steps: 2)
            #expect(try await waitUntil(timeout: .seconds(20)) { receiver.received.count >= 6 })
            let statuses = Self.payloads(receiver).map { $0.field("status") }
            #expect(statuses == [.integer(0), .integer(1), .integer(2), .integer(2), .integer(2), .integer(4)])
            let log = try await s.request(.GET, "/api/v1/webhook/h1/delivery")
            let attempts = log.array.compactMap { if case .integer(let a) = $0.field("attempts") { a } else { nil } }
            #expect(attempts.reduce(0, +) == 6 + 3)

            receiver.failAlways(true)
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"s2","flow":[{"$id":"a","$command":"x"}],"webhook":"h1"}"#)
            #expect(
                try await waitUntil(timeout: .seconds(30)) {
                    let l = try await s.request(
                        .GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"service_uuid":"s2"}}"#))
                    return l.array.first?.field("status") == .string("failed")
                })
            let failed = try await s.request(
                .GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"status":"failed"}}"#))
            let d = try #require(failed.array.first)
            #expect(d.field("attempts") == .integer(Int64(WebhookDeliverer.maxAttempts)))
            #expect(d.field("last_response_code") == .integer(503))
            // A manual redelivery after the receiver recovered.
            receiver.failAlways(false)
            guard case .string(let id) = d.field("uuid") else { return }
            #expect(try await s.request(.POST, "/api/v1/webhook/h1/delivery/\(id)/redeliver").status == 200)
            #expect(try await waitUntil { Self.payloads(receiver).contains { $0.field("service_uuid") == .string("s2") } })
            // A delivery whose attempt is being sent (leased) is not queued a second time. (Wait for
            // the sender to record the redelivered attempt first, or it would overwrite the lease.)
            #expect(
                try await waitUntil {
                    let l = try await s.request(
                        .GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"uuid":"\#(id)"}}"#))
                    return l.array.first?.field("status") == .string("delivered")
                })
            let lease = Timestamp.now().adding(.seconds(60))
            _ = try await s.store.database.transaction { db in
                try await db.execute(
                    "UPDATE webhook_delivery SET status = 'pending', lease_until = \(bind: .timestamp(lease)) WHERE uuid = \(bind: id)"
                )
            }
            let busy = try await s.request(.POST, "/api/v1/webhook/h1/delivery/\(id)/redeliver")
            #expect(busy.status == 409)
            #expect(busy.message.contains("being sent right now"))
            #expect(try await s.request(.POST, "/api/v1/webhook/h1/delivery/nope/redeliver").status == 404)
        }
        await receiver.stop()
    }

    @Test("deliveries pending when the server stops are sent after it restarts")
    func survivesRestart() async throws {
        let (url, cleanup) = try await StoreFixtureURL.fresh()
        let receiver = try await Receiver.start()
        receiver.failAlways(true)
        try await TestServer.with(databaseURL: url, configure: { $0.webhookRetryInitial = GoDuration(nanoseconds: 20_000_000) }) {
            s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            _ = try await s.request(
                .POST, "/api/v1/webhook", json: #"{"uuid":"h1","name":"ops","url":"\#(receiver.url)","method":"POST"}"#)
            for i in 0..<3 {
                _ = try await s.request(
                    .POST, "/api/v1/cluster/c1/service",
                    json: #"{"uuid":"s\#(i)","flow":[{"$id":"a","$command":"x"}],"webhook":"h1"}"#)
            }
        }
        receiver.failAlways(false)
        try await TestServer.with(databaseURL: url, configure: { $0.webhookRetryInitial = GoDuration(nanoseconds: 20_000_000) }) {
            s async throws in
            #expect(try await waitUntil(timeout: .seconds(20)) { receiver.received.count >= 3 })
            #expect(
                Set(Self.payloads(receiver).compactMap { $0.field("service_uuid") }) == [
                    .string("s0"), .string("s1"), .string("s2"),
                ])
        }
        await receiver.stop()
        try await cleanup()
    }

    @Test("a jq condition on .inputs and .result selects exactly the intended events; the rest are logged skipped")
    func conditions() async throws {
        let receiver = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let hook = try await s.request(
                .POST, "/api/v1/webhook",
                json:
                    #"{"uuid":"h1","name":"ops","url":"\#(receiver.url)","method":"POST","conditionValidator":"jq","conditionFilter":".inputs.env == \"prod\" and .result.pods > 2"}"#
            )
            #expect(hook.status == 200, "\(hook.body)")
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"p","flow":[{"$id":"a","$command":"x"}],"inputs":{"env":"prod"},"webhook":"h1"}"#)
            try await Self.agentRun(s, service: "p", result: #"{"pods":3}"#)
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"d","flow":[{"$id":"a","$command":"x"}],"inputs":{"env":"dev"},"webhook":"h1"}"#)
            try await Self.agentRun(s, service: "d", result: #"{"pods":3}"#)
            #expect(
                try await waitUntil {
                    let l = try await s.request(
                        .GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"status":"pending"}}"#))
                    let all = try await s.request(.GET, "/api/v1/webhook/h1/delivery")
                    return l.array.isEmpty && all.array.count == 8
                })
            #expect(Self.payloads(receiver).count == 1)
            #expect(Self.payloads(receiver).first?.field("service_uuid") == .string("p"))
            let skipped = try await s.request(
                .GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"status":"skipped"}}"#))
            #expect(skipped.array.count == 7)
            // publish: the condition applies, the outcome is returned.
            let published = try await s.request(
                .POST, "/api/v1/webhook/h1/publish", json: #"{"inputs":{"env":"prod"},"result":{"pods":5}}"#)
            #expect(published.json?.field("status_code") == .integer(204))
            let notSent = try await s.request(.POST, "/api/v1/webhook/h1/publish", json: #"{"inputs":{"env":"dev"}}"#)
            #expect(notSent.json?.field("sent") == .bool(false))
        }
        await receiver.stop()
    }

    @Test(
        "bad input names the field and writes nothing",
        arguments: [
            (#"{"name":"h","url":"not a url","method":"POST"}"#, "url"),
            (#"{"name":"h","url":"ftp://x/y","method":"POST"}"#, "url"),
            (#"{"name":"h","url":"http://x/y","method":"BREW"}"#, "method"),
            (#"{"name":"h","url":"http://x/y","method":"POST","timeout":"soon"}"#, "timeout"),
            (#"{"name":"h","url":"http://x/y","method":"POST","timeout":"1h"}"#, "timeout"),
            (#"{"name":"h","url":"http://x/y","method":"POST","headers":{"X":"v"}}"#, "headers"),
            (#"{"name":"h","url":"http://x/y","method":"POST","headers":["X"]}"#, "headers"),
            (#"{"name":"h","url":"http://x/y","method":"POST","conditionValidator":"jqq"}"#, "conditionValidator"),
            (
                #"{"name":"h","url":"http://x/y","method":"POST","conditionValidator":"jq","conditionFilter":".status >="}"#,
                "conditionFilter"
            ),
            (#"{"name":"h","url":"http://x/y","method":"POST","content_encoding":"br"}"#, "content_encoding"),
            (#"{"url":"http://x/y","method":"POST"}"#, "name"),
        ])
    func badInput(body: String, field: String) async throws {
        try await TestServer.with { s in
            let r = try await s.request(.POST, "/api/v1/webhook", json: body)
            #expect(r.status == 400, "\(r.body)")
            #expect(r.message.contains("\"\(field)\""), "\(r.body)")
            #expect(try await s.request(.GET, "/api/v1/webhook").array.isEmpty)
        }
    }

    @Test("content_encoding gzip compresses the body (the signature is over the JSON)")
    func gzip() async throws {
        let receiver = try await Receiver.start()
        try await TestServer.with { s in
            _ = try await s.request(
                .POST, "/api/v1/webhook",
                json: #"{"uuid":"h1","name":"h","url":"\#(receiver.url)","method":"POST","content_encoding":"gzip"}"#)
            let published = try await s.request(.POST, "/api/v1/webhook/h1/publish", json: #"{"hello":"world"}"#)
            #expect(published.json?.field("status_code") == .integer(204))
            let hit = try #require(receiver.received.first)
            #expect(hit.headers["content-encoding"] == "gzip")
            #expect(!hit.body.contains("hello"))
        }
        await receiver.stop()
    }

    @Test("header values and secrets are masked in responses and encrypted at rest; rotation shows the new secret once")
    func secrets() async throws {
        try await TestServer.with { s in
            let created = try await s.request(
                .POST, "/api/v1/webhook",
                json:
                    #"{"uuid":"h1","name":"h","url":"https://example.invalid/x","method":"POST","headers":{"Authorization":["Bearer topsecret"]},"timeout":"90s"}"#
            )
            #expect(created.json?.field("headers") == .object(["Authorization": .array([.string("********")])]))
            #expect(created.string("timeout") == "1m30s")
            #expect(!created.body.contains("topsecret"))
            let rows = try await s.store.database.read { db in try await db.query("SELECT headers, secret FROM webhook") }
            let stored = "\(rows.first?.values ?? [:])"
            #expect(!stored.contains("topsecret"))
            #expect(!stored.contains(created.string("secret") ?? "x"))
            let rotated = try await s.request(.POST, "/api/v1/webhook/h1/rotate_secret")
            #expect(rotated.string("secret") != nil && rotated.string("secret") != created.string("secret"))
            #expect(try await s.request(.GET, "/api/v1/webhook").body.contains("whsec_") == false)
            #expect(try await s.request(.DELETE, "/api/v1/webhook/h1").status == 200)
            #expect(try await s.request(.GET, "/api/v1/webhook/h1").status == 404)
        }
    }
}
