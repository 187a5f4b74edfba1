import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Web console: error pages, the sign-in form's CSRF token, run progress by wave")
struct ConsoleErrorPageTests {
    /// An HTML error page of the console with its status and a link back, showing no internals.
    static func expectErrorPage(
        _ page: ConsoleClient.Page, _ status: Int, _ path: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(page.status == status, "\(path): \(page.body.prefix(300))", sourceLocation: sourceLocation)
        #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8", "\(path)", sourceLocation: sourceLocation)
        #expect(page.body.hasPrefix("<!doctype html>"), "\(path)", sourceLocation: sourceLocation)
        #expect(page.body.contains(#"data-error="\#(status)""#), "\(path)", sourceLocation: sourceLocation)
        #expect(page.body.contains(#"<p><a href="/ui/"#), "\(path): no link back", sourceLocation: sourceLocation)
        for leak in ["SELECT", "sqlite", "StoreError", "no such table", "Swift/", ".swift:"] {
            #expect(!page.body.contains(leak), "\(path) shows \(leak)", sourceLocation: sourceLocation)
        }
    }

    @Test("a console page that fails answers HTML in the layout with its status; the API keeps JSON")
    func errorPages() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            // Without a session a GET still goes to the sign-in page, a POST gets a page saying so.
            #expect(try await ConsoleClient(s: s).get("/ui/no-such-page").location == "/ui/login")
            #expect(try await ConsoleClient(s: s).get("/ui/clusters/c1").location == "/ui/login")
            let anonymousPost = try await ConsoleClient(s: s).post("/ui/clusters", [("name", "x")])
            Self.expectErrorPage(anonymousPost, 401, "anonymous POST")
            #expect(anonymousPost.body.contains(#"href="/ui/login""#))

            let (browser, _) = try await ConsoleClient.signIn(s)
            for path in [
                "/ui/no-such-page", "/ui/clusters/c1/extra", "/ui/clusters/unknown", "/ui/runs/unknown",
                "/ui/templates/unknown", "/ui/services/c1/unknown", "/ui/clusters/bad%20id",
            ] {
                let page = try await browser.get(path)
                Self.expectErrorPage(page, 404, path)
                #expect(page.body.contains("claiflow"), "\(path): not in the layout")
                #expect(page.body.contains(#"aria-label="Main""#), "\(path): no navigation")
            }
            #expect(try await browser.get("/ui/clusters/unknown").body.contains(#"href="/ui/clusters">Back to Clusters"#))
            // 400: a query the list cannot take (a page past the largest offset).
            let bad = try await browser.get("/ui/services?page=1000000000")
            Self.expectErrorPage(bad, 400, "/ui/services?page=1000000000")
            #expect(bad.body.contains("too large"))
            #expect(bad.body.contains(#"href="/ui/services">Back to Services"#))
            // 403: a form without its CSRF token, and a viewer's write.
            Self.expectErrorPage(try await browser.post("/ui/clusters", [("name", "forged")]), 403, "no CSRF")
            let key = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"v","role":"viewer"}"#).string("key"))
            let (viewer, _) = try await ConsoleClient.signIn(s, key: key)
            let csrf = try #require(try await viewer.get("/ui/").csrf)
            let refused = try await viewer.post("/ui/clusters", [("name", "x"), ("_csrf", csrf)])
            Self.expectErrorPage(refused, 403, "viewer write")
            #expect(refused.body.contains("has role viewer"))
            // 405 keeps its Allow header.
            let method = try await browser.get("/ui/logout")
            Self.expectErrorPage(method, 405, "GET /ui/logout")
            #expect(method.headers.first(name: "allow") == "POST")
            // The API and the static files keep JSON.
            let api = try await browser.get("/api/v1/cluster/unknown")
            #expect(api.status == 404)
            #expect(api.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
            #expect(
                try await browser.get("/ui/static/nope.css").headers.first(name: "content-type")?.hasPrefix("application/json")
                    == true)

            // 500: the database fails under the page; the page shows no internals.
            try await s.store.database.transaction { db in _ = try await db.execute("ALTER TABLE run RENAME TO run_gone") }
            let failed = try await browser.get("/ui/runs")
            Self.expectErrorPage(failed, 500, "/ui/runs without its table")
            #expect(failed.body.contains("request id"))
        }
    }

    @Test("the sign-in form carries a CSRF token in a cookie and a field: a POST without both, equal, is refused")
    func loginCSRF() async throws {
        try await TestServer.with { s in
            let anonymous = ConsoleClient(s: s)
            let token = try await anonymous.loginToken()
            let setCookie = try #require(token.setCookie)
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            #expect(setCookie.contains("Path=/ui/login"))
            let cookie = try #require(token.cookie)
            #expect(cookie.count == 32)
            #expect(token.field == cookie)
            // A page whose browser already has a token keeps it (two tabs both work).
            let again = try await anonymous.get("/ui/login", headers: [("Cookie", "claiflow_login_csrf=\(cookie)")])
            #expect(again.body.contains(#"name="_csrf" value="\#(cookie)""#))

            let key = TestServer.adminToken
            let other = String(repeating: "a", count: 32)
            for (fields, cookieHeader, what) in [
                ([("key", key)], nil, "no token at all"),
                ([("key", key), ("_csrf", cookie)], nil, "the field without the cookie (a cross-site POST)"),
                ([("key", key)], "claiflow_login_csrf=\(cookie)", "the cookie without the field"),
                ([("key", key), ("_csrf", other)], "claiflow_login_csrf=\(cookie)", "another token in the field"),
                ([("key", key), ("_csrf", "x")], "claiflow_login_csrf=x", "a token that is not ours"),
            ] as [([(String, String)], String?, String)] {
                let page = try await anonymous.post("/ui/login", fields, headers: cookieHeader.map { [("Cookie", $0)] } ?? [])
                ConsoleErrorPageTests.expectErrorPage(page, 403, what)
                #expect(!page.headers["set-cookie"].contains { $0.hasPrefix(ConsoleSessions.cookieName) }, "\(what)")
            }
            let sessions = try await s.store.database.read { db in
                try await db.first("SELECT COUNT(*) AS n FROM console_session")?.integer("n")
            }
            #expect(sessions == 0)

            // The form as the page gave it signs in, and the token's cookie is dropped.
            let signedIn = try await anonymous.postLogin(key: key)
            #expect(signedIn.status == 303)
            #expect(signedIn.headers["set-cookie"].contains { $0.hasPrefix(ConsoleSessions.cookieName + "=cfs_") })
            #expect(signedIn.headers["set-cookie"].contains { $0.hasPrefix("claiflow_login_csrf=;") && $0.contains("Max-Age=0") })
        }
    }

    @Test("a run's page shows its waves (done, in progress, pending) and the list its wave of how many")
    func runWaves() async throws {
        try await TestServer.with { s in
            for i in 1...5 {
                _ = try await s.request(
                    .POST, "/api/v1/cluster", json: #"{"uuid":"c\#(i)","name":"c\#(i)","labels":{"env":"w"}}"#)
            }
            let run = try await s.request(
                .POST, "/api/v1/run",
                json: #"{"name":"waves","flow":[{"$id":"a","$command":"x"}],"selector":"env=w","strategy":{"max_parallel":2}}"#)
            let uuid = try #require(run.string("uuid"))
            let (browser, _) = try await ConsoleClient.signIn(s)
            let page = try await browser.get("/ui/runs/\(uuid)")
            #expect(page.status == 200)
            let rows = page.body.components(separatedBy: "<tr data-wave=").dropFirst()
            #expect(rows.count == 3)
            let states = rows.map { row in
                ["in progress", "pending", "done"].first { row.contains("data-wave-state>\($0)<") } ?? "?"
            }
            #expect(states == ["in progress", "pending", "pending"])
            #expect(rows.first?.contains("0 of 2") == true)
            #expect(rows.dropFirst(2).first?.contains("0 of 1") == true)
            // Every grid cell names its wave, for the script to recount it live.
            #expect(page.body.components(separatedBy: #"data-wave="1" class="cell"#).count - 1 == 2)
            #expect(page.body.components(separatedBy: #"data-wave="3" class="cell"#).count - 1 == 1)
            #expect(page.body.contains(#"<progress id="run-progress-bar" max="5" value="0""#))

            // The first wave ends: it is done, the second in progress (released as slots freed up).
            let services = try await s.request(.GET, "/api/v1/service").array
            for svc in services.prefix(5) {
                let cluster = svc.field("cluster_uuid")?.stringValue ?? ""
                guard cluster == "c1" || cluster == "c2" else { continue }
                _ = try await s.request(
                    .POST, "/api/v1/cluster/\(cluster)/service/\(svc.field("uuid")?.stringValue ?? "")/cancel")
            }
            let later = try await browser.get("/ui/runs/\(uuid)")
            let laterStates = later.body.components(separatedBy: "<tr data-wave=").dropFirst().map { row in
                ["in progress", "pending", "done"].first { row.contains("data-wave-state>\($0)<") } ?? "?"
            }
            #expect(laterStates == ["done", "in progress", "pending"])
            let list = try await browser.get("/ui/runs")
            #expect(list.body.contains("2 of 5 finished, wave 2 of 3"))
        }
    }

    @Test("page details: a cluster's agent sessions, templates chosen for a cluster, descriptions tied to their fields")
    func pageDetails() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let schema = #"{"type":"object","properties":{"a":{"type":"string","description":"About a"},"b":{"type":"string"}}}"#
            _ = try await s.request(
                .POST, "/api/v1/template",
                json: #"{"uuid":"t1","name":"t1","flow":[{"$id":"s","$command":"x"}],"inputs":\#(schema)}"#)
            let (browser, _) = try await ConsoleClient.signIn(s)
            let cluster = try await browser.get("/ui/clusters/c1")
            #expect(cluster.body.contains(#"<table id="sessions">"#))
            #expect(cluster.body.contains("No agent has connected yet."))
            #expect(cluster.body.contains("claiflow agent --server http://"))
            #expect(cluster.body.contains(#"href="/ui/templates?cluster=c1""#))
            // Templates page 50 at a time, by name (the default templates are more than 50).
            let first = try await browser.get("/ui/templates")
            #expect(first.body.components(separatedBy: #"<tr><td><a href="/ui/templates/"#).count - 1 == 50)
            #expect(first.body.contains(#"href="/ui/templates?page=2" rel="next""#))
            let second = try await browser.get("/ui/templates?page=2")
            #expect(second.body.contains(#"href="/ui/templates?page=1" rel="prev""#))
            // Page n starts at row (n - 1) × 50: walking the pages lists every template once.
            var seen: [String] = []
            var page = 1
            while true {
                let body = try await browser.get("/ui/templates?page=\(page)").body
                seen += body.components(separatedBy: #"<tr><td><a href="/ui/templates/"#).dropFirst().map {
                    String($0.prefix { $0 != "\"" })
                }
                guard body.contains(#"href="/ui/templates?page=\#(page + 1)" rel="next""#) else { break }
                page += 1
            }
            let all = try await s.request(.GET, TestServer.query("/api/v1/template", p: #"{"limit":1000}"#))
            let total = try JSONSerialization.jsonObject(with: Data(all.body.utf8)) as? [Any]
            #expect(Set(seen).count == seen.count)
            #expect(seen.count == total?.count)
            #expect(try await browser.get("/ui/templates?search=t1").body.contains(#"href="/ui/templates/t1""#))
            let templates = try await browser.get("/ui/templates?cluster=c1&search=t1")
            #expect(templates.body.contains(#"href="/ui/templates/t1?cluster=c1""#))
            #expect(templates.body.contains(#"<input type="hidden" name="cluster" value="c1">"#))
            #expect(try await browser.get("/ui/templates?cluster=%22%3E").body.contains("?cluster=") == false)
            let form = try await browser.get("/ui/templates/t1?cluster=c1")
            #expect(form.body.contains(#"id="cluster" name="cluster" value="c1""#))
            #expect(form.body.contains(#"aria-describedby="d-a""#))
            #expect(!form.body.contains("d-b"))
            #expect(!form.body.contains("e-a"))
        }
    }

    @Test(
        "the overview counts the services of the last 24 hours by status (one range count per status)",
        arguments: StoreKind.available)
    func overviewCounts(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            for uuid in ["s1", "s2", "s3", "old"] {
                _ = try await s.request(
                    .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"\#(uuid)","flow":[{"$id":"a","$command":"x"}]}"#)
            }
            _ = try await s.request(.POST, "/api/v1/cluster/c1/service/s3/cancel")
            let twoDaysAgo = Timestamp.now().microseconds - 2 * 86_400_000_000
            try await s.store.database.transaction { db in
                _ = try await db.execute("UPDATE service SET created = \(bind: twoDaysAgo) WHERE uuid = 'old'")
            }
            let overview = try await s.store.consoleOverview(
                now: .now(), since: Timestamp(microseconds: Timestamp.now().microseconds - 86_400_000_000))
            #expect(overview.servicesByStatus.filter { $0.value > 0 } == [.regist: 2, .canceled: 1])
            #expect(overview.clusters == 1)
            let (browser, _) = try await ConsoleClient.signIn(s)
            let page = try await browser.get("/ui/")
            #expect(page.body.contains(#"<span class="status status-regist">regist</span> <strong>2</strong>"#))
            #expect(page.body.contains(#"<span class="status status-canceled">canceled</span> <strong>1</strong>"#))
        }
    }
}
