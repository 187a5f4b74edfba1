import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Credentials in a webhook's URL are masked in every response, like header values, and kept
/// intact at rest and for delivery; a masked URL or header value sent back keeps the real one.
@Suite("Webhook URL masking")
struct WebhookURLMaskingTests {
    /// A loopback receiver that records the request target (path and query) and the
    /// `Authorization` header of each request it gets.
    final class TargetRecorder: Sendable {
        let targets = Mutex<[String]>([])
        let server: LoopbackServer
        var port: Int { server.port }

        init(server: LoopbackServer) {
            self.server = server
        }

        static func start() async throws -> TargetRecorder {
            let shared = SharedTargets()
            let router = Router()
            router.post("hook") { request, _ -> Response in
                shared.append(request.uri.description + " " + (request.headers[.authorization] ?? ""))
                return Response(status: .noContent)
            }
            let recorder = TargetRecorder(server: try await LoopbackServer.start(router))
            shared.recorder = recorder
            return recorder
        }

        func stop() async { await server.stop() }
    }

    final class SharedTargets: @unchecked Sendable {
        var recorder: TargetRecorder?
        func append(_ target: String) { recorder?.targets.withLock { $0.append(target) } }
    }

    @Test("masked in create, get, list and update responses; intact at rest and when delivered; round-trips")
    func masked() async throws {
        let receiver = try await TargetRecorder.start()
        defer { Task { await receiver.stop() } }
        try await TestServer.with { s in
            let real = "http://alice:pa55word@127.0.0.1:\(receiver.port)/hook?team=sre&token=tok-123&api_key=key-456"
            let shown = "http://********:********@127.0.0.1:\(receiver.port)/hook?team=sre&token=********&api_key=********"
            let created = try await s.request(
                .POST, "/api/v1/webhook",
                json: JSONValue.object([
                    "uuid": .string("h1"), "name": .string("ops"), "url": .string(real), "method": .string("POST"),
                    "headers": .object(["Authorization": .array([.string("Bearer hdr-789")])]),
                ]).serialized())
            #expect(created.status == 200, "\(created.body)")
            let viewer = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"v","role":"viewer"}"#).string("key"))
            let replies = [
                created, try await s.request(.GET, "/api/v1/webhook/h1"), try await s.request(.GET, "/api/v1/webhook"),
                try await s.request(.GET, "/api/v1/webhook/h1", key: viewer),
                try await s.request(.GET, "/api/v1/webhook", key: viewer),
            ]
            for r in replies {
                #expect(r.status == 200, "\(r.body)")
                #expect(r.body.contains(JSONValue.string(shown).serialized()), "\(r.body)")
                for secret in ["pa55word", "alice", "tok-123", "key-456", "hdr-789"] {
                    #expect(!r.body.contains(secret), "\(r.body)")
                }
            }
            let stored = try #require(try await s.store.webhook(uuid: "h1"))
            #expect(stored.webhook.url == real)

            // The whole webhook as shown, sent back with a new name: the URL and the header stay real.
            guard case .object(var shownBody)? = try await s.request(.GET, "/api/v1/webhook/h1").json else {
                Issue.record("no webhook")
                return
            }
            shownBody["name"] = .string("ops-2")
            let updated = try await s.request(.PUT, "/api/v1/webhook/h1", json: JSONValue.object(shownBody).serialized())
            #expect(updated.status == 200, "\(updated.body)")
            #expect(updated.string("url") == shown)
            #expect(updated.string("name") == "ops-2")
            #expect(try await s.store.webhook(uuid: "h1")?.webhook.url == real)
            let published = try await s.request(.POST, "/api/v1/webhook/h1/publish", json: #"{"hello":1}"#)
            #expect(published.json?.field("status_code") == .integer(204), "\(published.body)")
            #expect(receiver.targets.withLock { $0 } == ["/hook?team=sre&token=tok-123&api_key=key-456 Bearer hdr-789"])

            // A mask anywhere else than in an unchanged masked URL is refused, naming the field.
            let refusals = [
                (#"{"url":"http://127.0.0.1:\#(receiver.port)/other?token=********"}"#, "url"),
                (#"{"url":"http://********@127.0.0.1:\#(receiver.port)/hook"}"#, "url"),
                (#"{"headers":{"X-New":["********"]}}"#, "headers"),
            ]
            for (body, field) in refusals {
                let r = try await s.request(.PUT, "/api/v1/webhook/h1", json: body)
                #expect(r.status == 400, "\(body): \(r.body)")
                #expect(r.message.contains(#"field "\#(field)""#), "\(r.body)")
            }
            let copy = try await s.request(
                .POST, "/api/v1/webhook",
                json: JSONValue.object(["name": .string("copy"), "url": .string(shown), "method": .string("POST")]).serialized())
            #expect(copy.status == 400, "\(copy.body)")
            #expect(copy.message.contains(#"field "url""#))
            #expect(try await s.store.webhook(uuid: "h1")?.webhook.url == real)

            // A real change still changes it.
            let changed = "http://bob:other@127.0.0.1:\(receiver.port)/hook?token=tok-999"
            let r = try await s.request(
                .PUT, "/api/v1/webhook/h1", json: JSONValue.object(["url": .string(changed)]).serialized())
            #expect(r.status == 200, "\(r.body)")
            #expect(try await s.store.webhook(uuid: "h1")?.webhook.url == changed)
        }
    }
}
