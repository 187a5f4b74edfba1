import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Health, metrics, request ids, OpenAPI")
struct SystemTests {
    @Test("healthz reports the database; X-Request-Id is echoed or generated")
    func healthAndRequestID() async throws {
        try await TestServer.with { s async throws in
            let health = try await s.request(.GET, "/healthz", key: nil)
            #expect(health.body == "{\"status\":\"ok\"}\n")
            let echoed = try await s.request(.GET, "/healthz", key: nil, headers: [("X-Request-Id", "abc-123")])
            #expect(echoed.headers.first(name: "X-Request-Id") == "abc-123")
            let generated = try await s.request(.GET, "/api/v1/cluster", key: nil)
            let id = try #require(generated.headers.first(name: "X-Request-Id"))
            #expect(id.count >= 16)
            let hostile = try await s.request(
                .GET, "/healthz", key: nil, headers: [("X-Request-Id", String(repeating: "z", count: 500))])
            #expect(hostile.headers.first(name: "X-Request-Id")?.count != 500)
        }
    }

    @Test("metrics count requests by route and status and time store operations")
    func metrics() async throws {
        try await TestServer.with { s async throws in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"name":"a"}"#)
            _ = try await s.request(.GET, "/api/v1/cluster/none")
            let m = try await s.request(.GET, "/metrics")
            #expect(m.status == 200)
            #expect(m.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(m.body.contains(#"claiflow_http_requests_total{route="/api/v1/cluster",method="POST",status="200"} 1"#))
            #expect(m.body.contains(#"claiflow_http_requests_total{route="/api/v1/cluster/{uuid}",method="GET",status="404"} 1"#))
            #expect(m.body.contains("claiflow_http_request_duration_seconds_bucket"))
            #expect(m.body.contains(#"claiflow_store_operation_duration_seconds_count{operation="cluster.insert"} 1"#))
        }
        try await TestServer.with(configure: { $0.metricsPublic = true }) { s async throws in
            #expect(try await s.request(.GET, "/metrics", key: nil).status == 200)
        }
    }

    @Test("the OpenAPI document is served and lists exactly the routes the server registers")
    func openAPICoversRoutes() async throws {
        try await TestServer.with { s async throws in
            let doc = try await s.request(.GET, "/openapi.yaml", key: nil)
            #expect(doc.status == 200)
            #expect(doc.body.hasPrefix("#") || doc.body.hasPrefix("openapi:"))
            let documented = Set(Self.operations(inOpenAPI: doc.body))
            // The web console's pages (/ui/) are not the API.
            let served = Set(s.app.routes.filter { !$0.contains(" /ui") })
            #expect(served.subtracting(documented).sorted() == [], "routes missing from openapi.yaml")
            #expect(documented.subtracting(served).sorted() == [], "openapi.yaml documents routes the server lacks")
        }
    }

    /// `METHOD /path` for every operation of an OpenAPI YAML document (paths at two-space
    /// indentation, methods at four).
    static func operations(inOpenAPI yaml: String) -> [String] {
        var result: [String] = []
        var inPaths = false
        var current: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") {
                inPaths = true
                continue
            }
            if inPaths, let first = line.first, first != " ", first != "#" { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                current = String(line.dropFirst(2).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            } else if let path = current, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "delete", "patch", "head"].contains(String(key)) {
                    result.append("\(key.uppercased()) \(path)")
                }
            }
        }
        return result
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("flags win over the environment, which wins over the file, which wins over defaults")
    func precedence() throws {
        let c = try ConfigurationResolver.resolve(
            flags: ["port": "9000"],
            environment: ["CLAIFLOW_PORT": "9001", "CLAIFLOW_HOST": "10.0.0.1", "CLAIFLOW_LOG_LEVEL": "debug"],
            file: ["port": "9002", "host": "127.0.0.2", "database": "postgres://u:p@db:5432/claiflow", "metrics_public": "true"])
        #expect(c.port == 9000)
        #expect(c.host == "10.0.0.1")
        #expect(c.database == "postgres://u:p@db:5432/claiflow")
        #expect(c.logLevel == .debug)
        #expect(c.metricsPublic)
        let d = try ConfigurationResolver.resolve(flags: [:], environment: [:], file: [:])
        #expect(d.port == 8099)
        #expect(d.database == "sqlite:claiflow.sqlite")
        #expect(d.adminToken == nil)
    }

    @Test("a known path with a method it does not serve is 405 with Allow; an unknown path is 404")
    func methodNotAllowed() async throws {
        try await TestServer.with { s in
            let put = try await s.request(.PUT, "/api/v1/cluster", json: "{}")
            #expect(put.status == 405)
            #expect(put.headers.first(name: "Allow") == "GET, POST")
            #expect(put.message == "PUT is not allowed on /api/v1/cluster; allowed: GET, POST")
            let patch = try await s.request(.PATCH, "/api/v1/cluster/any-uuid/service/x")
            #expect(patch.status == 405)
            #expect(patch.headers.first(name: "Allow") == "GET")
            #expect(try await s.request(.GET, "/api/v1/nothing-here").status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/a/b/c/d/e").status == 404)
            // An unauthenticated caller learns nothing more than before: 405 names only methods.
            #expect(try await s.request(.DELETE, "/api/v1/cluster", key: nil).status == 405)
        }
    }

    @Test("key rotation: data sealed with key A is read with key B and A as a previous key, re-sealed, then read with B alone")
    func keyRotation() async throws {
        let (url, cleanup) = try await StoreFixtureURL.fresh()
        let keyA = SecretBox.newKey()
        let keyB = SecretBox.newKey()
        let create =
            #"{"uuid":"s1","flow":[{"$id":"a","$command":"claiflow.echo","inputs":"$inputs"}],"inputs":{"password":"hunter2"}}"#
        try await TestServer.with(databaseURL: url, configure: { $0.encryptionKey = keyA }) { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            #expect(try await s.request(.POST, "/api/v1/cluster/c1/service", json: create).status == 200)
            let hook = try await s.request(
                .POST, "/api/v1/webhook",
                json: #"{"uuid":"h1","name":"h","url":"http://127.0.0.1:9/","method":"POST","headers":{"X-Key":["k1"]}}"#)
            #expect(hook.status == 200, "\(hook.body)")
        }
        // The key changed without saying which it replaces: sealed values cannot be read.
        try await TestServer.with(databaseURL: url, configure: { $0.encryptionKey = keyB }) { s in
            let unreadable = try await s.request(.GET, "/api/v1/cluster/c1/service/s1")
            #expect(unreadable.status == 500)
        }
        try await TestServer.with(
            databaseURL: url,
            configure: {
                $0.encryptionKey = keyB
                $0.previousEncryptionKeys = [keyA]
            }
        ) { s in
            let svc = try await s.request(.GET, "/api/v1/cluster/c1/service/s1")
            #expect(svc.status == 200)
            #expect(svc.json?.field("inputs")?.field("password") == .string("hunter2"))
            #expect(try await waitUntil { s.app.resealer.resealed != nil })
            #expect(s.app.resealer.resealed == 3)  // the inputs, the webhook's headers and secret
        }
        try await TestServer.with(databaseURL: url, configure: { $0.encryptionKey = keyB }) { s in
            let svc = try await s.request(.GET, "/api/v1/cluster/c1/service/s1")
            #expect(svc.json?.field("inputs")?.field("password") == .string("hunter2"))
            #expect(try await s.request(.GET, "/api/v1/webhook/h1").status == 200)
        }
        try await cleanup()
    }

    @Test("retention: off by default, a duration of at least 1h")
    func retentionSetting() throws {
        #expect(try ConfigurationResolver.resolve(flags: [:], environment: [:], file: [:]).retention == nil)
        #expect(
            try ConfigurationResolver.resolve(flags: [:], environment: ["CLAIFLOW_RETENTION": "720h"], file: [:]).retention
                == .seconds(720 * 3600))
        #expect(
            try ConfigurationResolver.resolve(flags: ["retention": "off"], environment: [:], file: ["retention": "24h"]).retention
                == nil)
        #expect(
            throws: ClaiflowError(
                .invalidArgument, "--retention: retention must be a duration of at least 1h (e.g. 720h) or off, got \"30m\"")
        ) {
            try ConfigurationResolver.resolve(flags: ["retention": "30m"], environment: [:], file: [:])
        }
    }

    @Test("gRPC settings: port 18099 by default, off, a free port, TLS files in pairs")
    func grpcSettings() throws {
        #expect(try ConfigurationResolver.resolve(flags: [:], environment: [:], file: [:]).grpcPort == 18099)
        #expect(
            try ConfigurationResolver.resolve(flags: [:], environment: ["CLAIFLOW_GRPC_PORT": "off"], file: [:]).grpcPort == nil)
        #expect(
            try ConfigurationResolver.resolve(flags: ["grpc_port": "0"], environment: [:], file: ["grpc_port": "9"]).grpcPort == 0
        )
        #expect(
            throws: ClaiflowError(
                .invalidArgument, "--grpc-port: grpc_port must be a number from 0 to 65535 or off, got \"99999\"")
        ) {
            try ConfigurationResolver.resolve(flags: ["grpc_port": "99999"], environment: [:], file: [:])
        }
        #expect(
            throws: ClaiflowError(
                .invalidArgument, "CLAIFLOW_GRPC_TLS_KEY: set both grpc_tls_certificate and grpc_tls_key, or neither")
        ) {
            try ConfigurationResolver.resolve(flags: [:], environment: ["CLAIFLOW_GRPC_TLS_KEY": "/etc/hostname"], file: [:])
        }
        #expect(throws: ClaiflowError(.invalidArgument, "--grpc-tls-certificate: cannot read the file \"/nonexistent/cert.pem\""))
        {
            try ConfigurationResolver.resolve(
                flags: ["grpc_tls_certificate": "/nonexistent/cert.pem", "grpc_tls_key": "/etc/hostname"], environment: [:],
                file: [:])
        }
        let tls = try ConfigurationResolver.resolve(
            flags: [:], environment: [:], file: ["grpc_tls_certificate": "/etc/hostname", "grpc_tls_key": "/etc/hostname"])
        #expect(tls.grpcTLSCertificate == "/etc/hostname" && tls.grpcTLSKey == "/etc/hostname")
    }

    @Test("bad values name their source")
    func errors() {
        #expect(throws: ClaiflowError(.invalidArgument, "CLAIFLOW_PORT: port must be a number from 0 to 65535, got \"http\"")) {
            try ConfigurationResolver.resolve(flags: [:], environment: ["CLAIFLOW_PORT": "http"], file: [:])
        }
        #expect(throws: ClaiflowError.self) {
            try ConfigurationResolver.resolve(flags: ["database": "mysql://x"], environment: [:], file: [:])
        }
        #expect(throws: ClaiflowError.self) {
            try ConfigurationResolver.resolve(flags: ["admin_token": "short"], environment: [:], file: [:])
        }
        #expect(throws: ClaiflowError.self) {
            try ConfigurationResolver.resolve(flags: [:], environment: [:], file: ["prot": "1"], fileName: "c.yaml")
        }
        #expect(throws: ClaiflowError.self) {
            try ConfigurationResolver.resolve(flags: ["log_level": "loud"], environment: [:], file: [:])
        }
    }

    @Test("the start-up description masks secrets")
    func redaction() {
        var c = ServerConfiguration()
        c.database = "postgres://claiflow:s3cret@db:5432/claiflow"
        c.adminToken = "admin-token-0123456789"
        let text = c.redactedDescription.map { "\($0)=\($1)" }.joined(separator: " ")
        #expect(!text.contains("s3cret"))
        #expect(!text.contains("admin-token-0123456789"))
        #expect(text.contains("postgres://claiflow:********@db:5432/claiflow"))
    }
}
