import ClaiflowCore
import ClaiflowServer
import Testing

@Suite("Operator API authentication")
struct AuthTests {
    @Test("a missing or wrong key is 401; public routes need none")
    func unauthenticated() async throws {
        try await TestServer.with { s in
            let missing = try await s.request(.GET, "/api/v1/cluster", key: nil)
            #expect(missing.status == 401)
            #expect(missing.message.contains("Authorization: Bearer"))
            #expect(try await s.request(.GET, "/api/v1/cluster", key: "wrong-key-0123456789").status == 401)
            #expect(
                try await s.request(.GET, "/api/v1/cluster", key: nil, headers: [("Authorization", "Basic eDp5")]).status == 401)
            #expect(try await s.request(.GET, "/healthz", key: nil).status == 200)
            #expect(try await s.request(.GET, "/openapi.yaml", key: nil).status == 200)
            #expect(try await s.request(.GET, "/metrics", key: nil).status == 401)
        }
    }

    @Test("stored hashes are lowercase hex SHA-256, as in databases written before")
    func hashFormat() {
        #expect(Secrets.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let token = Secrets.newClusterToken()
        #expect(token.utf8.count == 32 && token.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test("roles: viewer reads, operator writes, admin manages keys and global variables")
    func roles() async throws {
        try await TestServer.with { s in
            let viewerReply = try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"v","role":"viewer"}"#)
            #expect(viewerReply.status == 200)
            let viewer = try #require(viewerReply.string("key"))
            #expect(viewer.hasPrefix("cfk_"))
            let op = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"o","role":"operator"}"#).string("key"))

            #expect(try await s.request(.GET, "/api/v1/cluster", key: viewer).status == 200)
            let denied = try await s.request(.POST, "/api/v1/cluster", json: #"{"name":"x"}"#, key: viewer)
            #expect(denied.status == 403)
            #expect(denied.message.contains("needs operator"))
            #expect(try await s.request(.POST, "/api/v1/cluster", json: #"{"name":"x"}"#, key: op).status == 200)
            #expect(try await s.request(.GET, "/api/v1/api_key", key: op).status == 403)
            #expect(try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"z","role":"admin"}"#, key: op).status == 403)
            #expect(try await s.request(.GET, "/api/v1/global_variables", key: viewer).status == 200)
            let uuid = KnownGlobalVariable.clientSessionExpirationTime.uuid
            #expect(
                try await s.request(.PUT, "/api/v1/global_variables/\(uuid)", json: #"{"value":"2m"}"#, key: op).status == 403)
            #expect(try await s.request(.GET, "/metrics", key: viewer).status == 200)
        }
    }

    @Test("keys are stored hashed, listed without the secret, and stop working when deleted")
    func keyLifecycle() async throws {
        try await TestServer.with { s in
            let created = try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"ci","role":"operator"}"#)
            let key = try #require(created.string("key"))
            let uuid = try #require(created.string("uuid"))
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 200)
            let list = try await s.request(.GET, "/api/v1/api_key")
            #expect(list.status == 200)
            #expect(!list.body.contains(key))
            #expect(list.body.contains(String(key.prefix(12))))
            let stored = try #require(try await s.store.apiKey(hash: Secrets.sha256Hex(key)))
            #expect(stored.uuid == uuid)
            let rows = try await s.store.database.read { db in try await db.query("SELECT * FROM api_key") }
            #expect(!rows.contains { $0.values.values.contains(.text(key)) })

            #expect(try await s.request(.DELETE, "/api/v1/api_key/\(uuid)").status == 200)
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 401)
            #expect(try await s.request(.DELETE, "/api/v1/api_key/\(uuid)").status == 404)
            let badRole = try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"x","role":"root"}"#)
            #expect(badRole.status == 400)
            #expect(badRole.message.contains("\"role\""))
        }
    }

    @Test("without a configured admin token the first start creates one admin key, and only once")
    func bootstrapKey() async throws {
        let (url, cleanup) = try await StoreFixtureURL.fresh()
        let first = try await TestServer.with(databaseURL: url, configure: { $0.adminToken = nil }) { s in
            s.app.generatedAdminKey
        }
        let key = try #require(first)
        let second = try await TestServer.with(databaseURL: url, configure: { $0.adminToken = nil }) {
            s async throws -> String? in
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 200)
            return s.app.generatedAdminKey
        }
        #expect(second == nil)
        // Without a configured admin token, the last admin key cannot be deleted.
        try await TestServer.with(databaseURL: url, configure: { $0.adminToken = nil }) { s async throws in
            let keys = try await s.request(.GET, "/api/v1/api_key", key: key)
            let uuid = try #require(
                keys.array.first.flatMap { v -> String? in
                    if case .string(let u) = v.field("uuid") { return u } else { return nil }
                })
            let refused = try await s.request(.DELETE, "/api/v1/api_key/\(uuid)", key: key)
            #expect(refused.status == 409)
            #expect(refused.message.contains("last admin key"))
            let other = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"second","role":"admin"}"#, key: key).string("key"))
            #expect(try await s.request(.DELETE, "/api/v1/api_key/\(uuid)", key: other).status == 200)
            #expect(try await s.request(.GET, "/api/v1/cluster", key: key).status == 401)
        }
        try await cleanup()
    }
}
