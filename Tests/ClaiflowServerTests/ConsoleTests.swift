import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A browser-like client of the console: no redirects followed, a cookie kept.
struct ConsoleClient: Sendable {
    let s: TestServer
    var cookie: String?

    struct Page: Sendable {
        let status: Int
        let body: String
        let headers: HTTPHeaders
        var location: String? { headers.first(name: "location") }
        /// The CSRF token of the page (its `<meta name="csrf-token">`).
        var csrf: String? {
            guard let r = body.range(of: #"name="csrf-token" content=""#) else { return nil }
            return String(body[r.upperBound...].prefix(while: { $0 != "\"" }))
        }
    }

    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(.GET, path, form: nil, headers: headers)
    }

    /// Posts a form; `fields` are percent-encoded here.
    func post(_ path: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(.POST, path, form: body, headers: headers)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    func send(_ method: HTTPMethod, _ path: String, form: String?, headers: [(String, String)]) async throws -> Page {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(s.port)\(path)")
        request.method = method
        if let cookie { request.headers.add(name: "Cookie", value: "\(ConsoleSessions.cookieName)=\(cookie)") }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Page(status: Int(response.status.code), body: String(buffer: body), headers: response.headers)
    }

    /// The sign-in page's CSRF token: its cookie `claiflow_login_csrf` and its hidden field.
    func loginToken() async throws -> (cookie: String?, field: String?, setCookie: String?) {
        let page = try await get("/ui/login")
        let setCookie = page.headers["set-cookie"].first { $0.hasPrefix("claiflow_login_csrf=") }
        let cookie = setCookie?.split(separator: ";").first.map { String($0.dropFirst("claiflow_login_csrf=".count)) }
        let field = page.body.range(of: #"name="_csrf" value=""#).map {
            String(page.body[$0.upperBound...].prefix(while: { $0 != "\"" }))
        }
        return (cookie, field, setCookie)
    }

    /// Posts the sign-in form as a browser does: the page's token in its cookie and its field.
    func postLogin(key: String, headers: [(String, String)] = []) async throws -> Page {
        let token = try await loginToken()
        return try await post(
            "/ui/login", [("_csrf", token.field ?? ""), ("key", key)],
            headers: headers + [("Cookie", "claiflow_login_csrf=\(token.cookie ?? "")")])
    }

    /// Signs in with a key; returns the client with its cookie and the `Set-Cookie` header.
    static func signIn(
        _ s: TestServer, key: String = TestServer.adminToken, headers: [(String, String)] = []
    ) async throws -> (
        ConsoleClient, String
    ) {
        let page = try await ConsoleClient(s: s).postLogin(key: key, headers: headers)
        let setCookie = page.headers["set-cookie"].first { $0.hasPrefix(ConsoleSessions.cookieName + "=") } ?? ""
        let token = setCookie.split(separator: ";").first.map { String($0.dropFirst(ConsoleSessions.cookieName.count + 1)) }
        return (ConsoleClient(s: s, cookie: token), setCookie)
    }
}

@Suite("Web console: sign-in, sessions, CSRF, pages")
struct ConsoleTests {
    @Test("sign in with an API key: an HttpOnly SameSite=Strict cookie, Secure behind TLS; the session stored hashed")
    func signIn() async throws {
        try await TestServer.with { s in
            let anonymous = try await ConsoleClient(s: s).get("/ui/clusters")
            #expect(anonymous.status == 303)
            #expect(anonymous.location == "/ui/login")
            let wrong = try await ConsoleClient(s: s).postLogin(key: "not-a-key-0123456789")
            #expect(wrong.status == 401)
            #expect(wrong.body.contains("invalid API key"))
            #expect(!wrong.headers["set-cookie"].contains { $0.hasPrefix(ConsoleSessions.cookieName) })

            let (browser, cookie) = try await ConsoleClient.signIn(s)
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"))
            let token = try #require(browser.cookie)
            let rows = try await s.store.database.read { db in try await db.query("SELECT token_hash FROM console_session") }
            #expect(try rows.map { try $0.text("token_hash") } == [Secrets.sha256Hex(token)])
            let page = try await browser.get("/ui/")
            #expect(page.status == 200)
            #expect(page.body.contains("configured admin token"))

            let (_, tls) = try await ConsoleClient.signIn(s, headers: [("X-Forwarded-Proto", "https")])
            #expect(tls.contains("; Secure"))
        }
        try await TestServer.with(configure: { $0.uiSecureCookie = true }) { s in
            let (_, cookie) = try await ConsoleClient.signIn(s)
            #expect(cookie.contains("; Secure"))
        }
    }

    @Test("every form needs the session's CSRF token (403 without); so do the API's writes made with the cookie")
    func csrf() async throws {
        try await TestServer.with { s in
            let (browser, _) = try await ConsoleClient.signIn(s)
            let csrf = try #require(try await browser.get("/ui/clusters").csrf)
            let refused = try await browser.post("/ui/clusters", [("name", "c1")])
            #expect(refused.status == 403)
            let wrongToken = try await browser.post("/ui/clusters", [("name", "c1"), ("_csrf", "0123")])
            #expect(wrongToken.status == 403)
            #expect(try await s.request(.GET, "/api/v1/cluster").array.isEmpty)
            let created = try await browser.post("/ui/clusters", [("name", "c1"), ("labels", "env=prod"), ("_csrf", csrf)])
            #expect(created.status == 303)
            #expect(created.location?.hasPrefix("/ui/clusters/") == true)
            #expect(try await s.request(.GET, "/api/v1/cluster").array.count == 1)

            // The API with the cookie: reads as is, writes only with X-CSRF-Token.
            let read = try await browser.send(.GET, "/api/v1/cluster", form: nil, headers: [])
            #expect(read.status == 200)
            let json = #"{"name":"c2"}"#
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(s.port)/api/v1/cluster")
            request.method = .POST
            request.headers.add(name: "Cookie", value: "\(ConsoleSessions.cookieName)=\(browser.cookie ?? "")")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
            #expect(try await ConsoleClient.client.execute(request, timeout: .seconds(30)).status.code == 403)
            request.headers.add(name: ConsoleSessions.csrfHeader, value: csrf)
            request.body = .bytes(ByteBuffer(string: json))
            #expect(try await ConsoleClient.client.execute(request, timeout: .seconds(30)).status.code == 200)
        }
    }

    @Test("a viewer sees no write controls, and its writes are refused anyway")
    func viewer() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let key = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"look","role":"viewer"}"#).string("key"))
            let (viewer, _) = try await ConsoleClient.signIn(s, key: key)
            let list = try await viewer.get("/ui/clusters")
            #expect(list.status == 200)
            #expect(!list.body.contains("create-cluster"))
            let cluster = try await viewer.get("/ui/clusters/c1")
            #expect(!cluster.body.contains("Pause"))
            #expect(!cluster.body.contains("labels-form"))
            let template = try await viewer.get("/ui/templates/00000000000000000000000000000001")
            #expect(template.status == 200)
            #expect(!template.body.contains("run-form"))
            let csrf = try #require(list.csrf)
            #expect(try await viewer.post("/ui/clusters/c1", [("action", "pause"), ("_csrf", csrf)]).status == 403)
            #expect(try await viewer.post("/ui/clusters", [("name", "x"), ("_csrf", csrf)]).status == 403)
        }
    }

    @Test("sign-out, an expired session and a deleted key all end the session")
    func sessionEnds() async throws {
        try await TestServer.with { s in
            let (browser, _) = try await ConsoleClient.signIn(s)
            let csrf = try #require(try await browser.get("/ui/").csrf)
            #expect(try await browser.post("/ui/logout", []).status == 403)
            let out = try await browser.post("/ui/logout", [("_csrf", csrf)])
            #expect(out.status == 303)
            #expect(out.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            #expect(try await browser.get("/ui/").location == "/ui/login")

            let now = Timestamp.now()
            let expired = ConsoleSession(
                tokenHash: Secrets.sha256Hex("cfs_expired"), keyUUID: "config", keyName: "x", role: .admin, csrfToken: "c",
                created: Timestamp(microseconds: now.microseconds - 7_200_000_000),
                expires: Timestamp(microseconds: now.microseconds - 1))
            try await s.store.insertConsoleSession(expired, now: Timestamp(microseconds: 0))
            #expect(try await ConsoleClient(s: s, cookie: "cfs_expired").get("/ui/").location == "/ui/login")

            let created = try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"temp","role":"operator"}"#)
            let (withKey, _) = try await ConsoleClient.signIn(s, key: created.string("key") ?? "")
            #expect(try await withKey.get("/ui/").status == 200)
            _ = try await s.request(.DELETE, "/api/v1/api_key/\(created.string("uuid") ?? "")")
            #expect(try await withKey.get("/ui/").location == "/ui/login")
        }
    }

    @Test("--ui off: no console, and the API takes no session cookie")
    func off() async throws {
        try await TestServer.with(configure: { $0.ui = false }) { s in
            #expect(try await ConsoleClient(s: s).get("/ui/login").status == 404)
            #expect(try await ConsoleClient(s: s).post("/ui/login", [("key", TestServer.adminToken)]).status == 404)
            let cookie = try await ConsoleClient(s: s, cookie: "cfs_anything").send(
                .GET, "/api/v1/cluster", form: nil, headers: [])
            #expect(cookie.status == 401)
        }
    }

    @Test("a template's form comes from its JSON Schema; the server's validation errors show at the field")
    func templateForm() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let flow = #"[{"$id":"s1","$command":"claiflow.echo","inputs":{"msg":"$inputs.msg"}}]"#
            let schema = #"""
                {"type":"object","required":["msg","replicas"],"properties":{
                "msg":{"type":"string","description":"What to say"},
                "replicas":{"type":"integer","minimum":1,"default":2},
                "mode":{"type":"string","enum":["fast","safe"],"default":"safe"},
                "dry":{"type":"boolean"}}}
                """#
            #expect(
                try await s.request(
                    .POST, "/api/v1/template", json: #"{"uuid":"echo","name":"echo","flow":\#(flow),"inputs":\#(schema)}"#
                )
                .status == 200)
            let (browser, _) = try await ConsoleClient.signIn(s)
            let page = try await browser.get("/ui/templates/echo")
            #expect(page.status == 200)
            #expect(page.body.contains(#"name="input.msg""#))
            #expect(page.body.contains("What to say"))
            #expect(page.body.contains(#"name="input.replicas" value="2""#))
            #expect(page.body.contains("<option selected>safe</option>"))
            #expect(page.body.contains(#"type="checkbox" id="in-dry""#))
            let csrf = try #require(page.csrf)

            let invalid = try await browser.post(
                "/ui/templates/echo/run",
                [("_csrf", csrf), ("target", "cluster"), ("cluster", "c1"), ("input.msg", "hi"), ("input.replicas", "0")])
            #expect(invalid.status == 400)
            let field = try #require(invalid.body.range(of: #"data-field="replicas""#))
            let fieldHTML = String(invalid.body[field.upperBound...].prefix(1500))
            #expect(fieldHTML.contains("field-error"))
            #expect(fieldHTML.contains("minimum"))
            let msgField = try #require(invalid.body.range(of: #"data-field="msg""#))
            let msgHTML = String(invalid.body[msgField.upperBound..<field.lowerBound])
            #expect(!msgHTML.contains("field-error"))
            #expect(invalid.body.contains("Check the fields marked below."))
            #expect(invalid.body.contains(#"name="input.msg" value="hi""#))
            #expect(try await s.request(.GET, "/api/v1/service").array.isEmpty)

            let valid = try await browser.post(
                "/ui/templates/echo/run",
                [
                    ("_csrf", csrf), ("target", "cluster"), ("cluster", "c1"), ("input.msg", "hi"), ("input.replicas", "3"),
                    ("input.mode", "safe"),
                ])
            #expect(valid.status == 303)
            let location = try #require(valid.location)
            #expect(location.hasPrefix("/ui/services/c1/"))
            let service = try await browser.get(location)
            #expect(service.status == 200)
            #expect(service.body.contains("cancel-form"))
            let created = try await s.request(.GET, "/api/v1/service").array
            #expect(
                created.first?.field("inputs")
                    == .object(["msg": .string("hi"), "replicas": .integer(3), "mode": .string("safe")]))
        }
    }

    @Test("every page renders for a signed-in operator")
    func pages() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1","labels":{"env":"prod"}}"#)
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"q","flow":[{"$id":"a","$command":"x"}]}"#)
            let run = try await s.request(
                .POST, "/api/v1/run", json: #"{"name":"r","flow":[{"$id":"a","$command":"x"}],"selector":"env=prod"}"#)
            let (browser, _) = try await ConsoleClient.signIn(s)
            for path in [
                "/ui/", "/ui/clusters", "/ui/clusters?selector=env%3Dprod", "/ui/clusters/c1", "/ui/templates",
                "/ui/templates?search=pods",
                "/ui/services", "/ui/services?status=regist&cluster=c1", "/ui/services/c1/q", "/ui/runs",
                "/ui/runs/\(run.string("uuid") ?? "")", "/ui/static/console.css", "/ui/static/console.js",
            ] {
                let page = try await browser.get(path)
                #expect(page.status == 200, "\(path): \(page.body.prefix(300))")
                #expect(!page.body.contains(">nil<"), "\(path)")
            }
            let bad = try await browser.get("/ui/clusters?selector=%3D%3D")
            #expect(bad.body.contains("selector-error"))
            #expect(try await browser.get("/ui/static/../../etc/passwd").status == 404)
        }
    }
}
