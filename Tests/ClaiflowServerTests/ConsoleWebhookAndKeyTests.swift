import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Web console: webhooks with their delivery log, API keys")
struct ConsoleWebhookAndKeyTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()

    /// A webhook `h1` at a closed port, with a secret, a credential in its URL and a header, and
    /// `count` deliveries written straight into the log (the odd ones failed, the others delivered).
    static func seed(_ s: TestServer, count: Int) async throws {
        _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
        let hook = try await s.request(
            .POST, "/api/v1/webhook",
            json: #"""
                {"uuid":"h1","name":"ops-hook","url":"http://hookuser:hookpass@127.0.0.1:1/hook","method":"POST",
                 "headers":{"X-Token":["header-value-secret"]},"secret":"\#(secret)"}
                """#)
        #expect(hook.status == 200, "\(hook.body)")
        _ = try await s.request(
            .POST, "/api/v1/webhook", json: #"{"uuid":"h2","name":"quiet-hook","url":"http://127.0.0.1:1/q","method":"POST"}"#)
        let base = Timestamp.now().microseconds - 1_000_000_000
        _ = try await s.store.database.transaction { db in
            for i in 1...count {
                let failed = i % 2 == 1
                let t = Timestamp(microseconds: base + Int64(i) * 1000)
                try await db.execute(
                    """
                    INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, attempts,
                        next_attempt, last_code, last_error, created, updated, delivered)
                    VALUES (\(bind: "d\(i)"), 'h1', 'c1', \(bind: "s\(i)"), '{}', \(bind: failed ? "failed" : "delivered"),
                        \(bind: .integer(failed ? 8 : 1)), NULL, \(bind: .integer(failed ? 503 : 200)),
                        \(bind: failed ? "the receiver answered 503" : String?.none), \(bind: .timestamp(t)), \(bind: .timestamp(t)),
                        \(bind: failed ? SQLValue.null : .timestamp(t)))
                    """)
            }
        }
    }

    static func key(_ s: TestServer, _ name: String, _ role: String) async throws -> String {
        try #require(
            try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"\#(name)","role":"\#(role)"}"#).string("key"))
    }

    static func rows(_ page: ConsoleClient.Page) -> [String] {
        page.body.components(separatedBy: "<tr data-uuid=\"").dropFirst().map { String($0.prefix(while: { $0 != "\"" })) }
    }

    @Test("the webhooks and a webhook's delivery log: newest first, 50 a page, filtered by status, never a secret")
    func webhookPages() async throws {
        try await TestServer.with { s in
            try await Self.seed(s, count: 60)
            let (viewer, _) = try await ConsoleClient.signIn(s, key: try await Self.key(s, "look", "viewer"))
            let list = try await viewer.get("/ui/webhooks")
            #expect(list.status == 200)
            #expect(Self.rows(list) == ["h1", "h2"])
            #expect(list.body.contains("ops-hook"))
            #expect(list.body.contains(#"<span class="status status-delivered">delivered</span>"#), "d60 is the newest")
            #expect(list.body.contains("none yet"), "h2 has no delivery")
            #expect(list.body.contains(#"href="/ui/webhooks""#), "the nav link")

            let log = try await viewer.get("/ui/webhooks/h1")
            #expect(log.status == 200)
            #expect(Self.rows(log) == (11...60).reversed().map { "d\($0)" })
            #expect(log.body.contains(#"href="/ui/webhooks/h1?page=2""#))
            #expect(log.body.contains("HTTP 503"))
            #expect(log.body.contains("the receiver answered 503"))
            let second = try await viewer.get("/ui/webhooks/h1?page=2")
            #expect(Self.rows(second) == (1...10).reversed().map { "d\($0)" })
            let failed = try await viewer.get("/ui/webhooks/h1?status=failed")
            #expect(Self.rows(failed) == stride(from: 59, through: 1, by: -2).map { "d\($0)" })
            #expect(!failed.body.contains("status-delivered"))
            #expect(failed.body.contains("<option selected>failed</option>"))
            let bad = try await viewer.get("/ui/webhooks/h1?status=lost")
            #expect(bad.status == 400)
            #expect(bad.body.contains(#"id="status-error""#))
            #expect(Self.rows(bad).isEmpty)
            #expect(try await viewer.get("/ui/webhooks/nope").status == 404)

            for page in [list, log, second, failed] {
                for hidden in [Self.secret, "hookuser", "hookpass", "header-value-secret"] {
                    #expect(!page.body.contains(hidden), "\(hidden) shows")
                }
            }
            #expect(log.body.contains("http://********:********@127.0.0.1:1/hook"))
        }
    }

    @Test("redeliver: operators only (no button for a viewer), with the CSRF token, then back to the log with a notice")
    func redeliver() async throws {
        try await TestServer.with { s in
            try await Self.seed(s, count: 3)
            func d3() async throws -> JSONValue? {
                try await s.request(.GET, TestServer.query("/api/v1/webhook/h1/delivery", q: #"{"eq":{"uuid":"d3"}}"#)).array
                    .first
            }
            let (viewer, _) = try await ConsoleClient.signIn(s, key: try await Self.key(s, "look", "viewer"))
            let viewerPage = try await viewer.get("/ui/webhooks/h1")
            #expect(!viewerPage.body.contains("Redeliver"))
            #expect(!viewerPage.body.contains("/redeliver"))
            let viewerCSRF = try #require(viewerPage.csrf)
            let refused = try await viewer.post("/ui/webhooks/h1/deliveries/d3/redeliver", [("_csrf", viewerCSRF)])
            #expect(refused.status == 403)

            let (op, _) = try await ConsoleClient.signIn(s, key: try await Self.key(s, "ops", "operator"))
            let page = try await op.get("/ui/webhooks/h1?status=failed")
            #expect(page.body.contains(#"action="/ui/webhooks/h1/deliveries/d3/redeliver""#))
            let csrf = try #require(page.csrf)
            #expect(try await op.post("/ui/webhooks/h1/deliveries/d3/redeliver", []).status == 403)
            #expect(try await op.post("/ui/webhooks/h1/deliveries/d3/redeliver", [("_csrf", "0123")]).status == 403)
            #expect(try await d3()?.field("status") == .string("failed"), "refused posts change nothing")
            #expect(try await d3()?.field("attempts") == .integer(8))

            let done = try await op.post(
                "/ui/webhooks/h1/deliveries/d3/redeliver", [("_csrf", csrf), ("status", "failed"), ("page", "1")])
            #expect(done.status == 303)
            #expect(done.location == "/ui/webhooks/h1?redelivered=d3&status=failed")
            // Queued again: attempts start over (the port is closed, so at most one attempt has
            // failed since; the next waits for the retry delay of 5 s).
            let after = try await d3()
            #expect(after?.field("status") == .string("pending"))
            if case .integer(let n) = after?.field("attempts") { #expect(n <= 1) } else { Issue.record("no attempts") }
            let back = try await op.get(try #require(done.location))
            #expect(back.body.contains(#"class="notice""#))
            #expect(back.body.contains("Delivery d3 is queued again"))

            #expect(try await op.post("/ui/webhooks/h1/deliveries/nope/redeliver", [("_csrf", csrf)]).status == 404)
            // A delivery being sent right now: 409 and the log again with the error.
            let lease = Timestamp.now().adding(.seconds(60))
            _ = try await s.store.database.transaction { db in
                try await db.execute(
                    "UPDATE webhook_delivery SET status = 'pending', lease_until = \(bind: .timestamp(lease)) WHERE uuid = 'd1'")
            }
            let busy = try await op.post("/ui/webhooks/h1/deliveries/d1/redeliver", [("_csrf", csrf)])
            #expect(busy.status == 409)
            #expect(busy.body.contains("being sent right now"))
            #expect(busy.body.contains(#"id="deliveries""#))
        }
    }

    @Test("API keys: admins only (no link, 403 for others); create shows the key once; bad input writes nothing")
    func apiKeys() async throws {
        try await TestServer.with { s in
            for role in ["viewer", "operator"] {
                let (other, _) = try await ConsoleClient.signIn(s, key: try await Self.key(s, "someone-\(role)", role))
                let home = try await other.get("/ui/")
                #expect(!home.body.contains("/ui/apikeys"), "\(role) sees the link")
                #expect(try await other.get("/ui/apikeys").status == 403)
                let csrf = try #require(home.csrf)
                #expect(try await other.post("/ui/apikeys", [("_csrf", csrf), ("name", "x"), ("role", "admin")]).status == 403)
            }
            func keyCount() async throws -> Int { try await s.request(.GET, "/api/v1/api_key").array.count }
            let before = try await keyCount()

            let (admin, _) = try await ConsoleClient.signIn(s)
            let page = try await admin.get("/ui/apikeys")
            #expect(page.status == 200)
            #expect(page.body.contains(#"id="nav-apikeys""#))
            #expect(page.body.contains("someone-viewer"))
            let csrf = try #require(page.csrf)
            #expect(try await admin.post("/ui/apikeys", [("name", "x"), ("role", "viewer")]).status == 403)
            let noName = try await admin.post("/ui/apikeys", [("_csrf", csrf), ("name", "  "), ("role", "operator")])
            #expect(noName.status == 400)
            #expect(noName.body.contains(#"id="k-name-error""#))
            #expect(noName.body.contains(#"<option selected>operator</option>"#), "the form keeps its values")
            let badRole = try await admin.post("/ui/apikeys", [("_csrf", csrf), ("name", "robot"), ("role", "root")])
            #expect(badRole.status == 400)
            #expect(badRole.body.contains(#"id="k-role-error""#))
            #expect(badRole.body.contains(#"value="robot""#))
            #expect(try await keyCount() == before, "nothing was written")

            let created = try await admin.post("/ui/apikeys", [("_csrf", csrf), ("name", "robot"), ("role", "operator")])
            #expect(created.status == 200)
            let r = try #require(created.body.range(of: #"id="new-key" class="secret" readonly value=""#))
            let key = String(created.body[r.upperBound...].prefix(while: { $0 != "\"" }))
            #expect(key.hasPrefix("cfk_"))
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 200, "the shown key works")
            #expect(try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"n","role":"viewer"}"#, key: key).status == 403)

            let keys = try await s.request(.GET, "/api/v1/api_key").array
            let robot = try #require(keys.first { $0.field("name") == .string("robot") })
            guard case .string(let uuid) = robot.field("uuid") else { throw ClaiflowError(.internal, "no uuid") }
            let listed = try await admin.get("/ui/apikeys")
            #expect(listed.body.contains("robot"))
            for page in [listed, page, noName, badRole] {
                #expect(!page.body.contains(key), "the key shows again")
                #expect(!page.body.contains(Secrets.sha256Hex(key)), "its hash shows")
            }

            #expect(try await admin.post("/ui/apikeys/\(uuid)/delete", []).status == 403)
            let deleted = try await admin.post("/ui/apikeys/\(uuid)/delete", [("_csrf", csrf)])
            #expect(deleted.status == 303)
            #expect(deleted.location == "/ui/apikeys?deleted=1")
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 401)
            #expect(try await admin.post("/ui/apikeys/\(uuid)/delete", [("_csrf", csrf)]).status == 404)
        }
    }

    @Test("deleting the key this session signed in with ends the session")
    func deleteOwnKey() async throws {
        try await TestServer.with { s in
            let key = try await Self.key(s, "me", "admin")
            let (me, _) = try await ConsoleClient.signIn(s, key: key)
            let page = try await me.get("/ui/apikeys")
            #expect(page.body.contains("Delete (signs you out)"))
            let csrf = try #require(page.csrf)
            let keys = try await s.request(.GET, "/api/v1/api_key").array
            guard case .string(let uuid) = keys.first(where: { $0.field("name") == .string("me") })?.field("uuid") else {
                Issue.record("no key named me")
                return
            }
            let out = try await me.post("/ui/apikeys/\(uuid)/delete", [("_csrf", csrf)])
            #expect(out.status == 303)
            #expect(out.location == "/ui/login")
            #expect(out.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            let after = try await me.get("/ui/")
            #expect(after.status == 303)
            #expect(after.location == "/ui/login")
        }
    }
}
