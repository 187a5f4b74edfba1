import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Testing

@Suite("Cluster, token and session API")
struct ClusterAPITests {
    @Test("cluster create, get, list with q/o/p, update, delete")
    func clusters() async throws {
        try await TestServer.with { s in
            let created = try await s.request(.POST, "/api/v1/cluster", json: #"{"name":"prod-eu-1","summary":"Frankfurt"}"#)
            #expect(created.status == 200)
            let uuid = try #require(created.string("uuid"))
            #expect(uuid.count == 32)
            let got = try await s.request(.GET, "/api/v1/cluster/\(uuid)")
            #expect(got.json == created.json)  // same microsecond timestamps in create and GET
            #expect(created.string("created")?.hasSuffix("Z") == true)
            #expect(created.string("created")?.count == 27)

            let own = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"example_cluster","name":"dev"}"#)
            #expect(own.string("uuid") == "example_cluster")
            let dup = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"example_cluster","name":"again"}"#)
            #expect(dup.status == 409)

            let filtered = try await s.request(.GET, TestServer.query("/api/v1/cluster", q: #"{"eq":{"name":"prod-eu-1"}}"#))
            #expect(filtered.array.count == 1)
            let sexpr = try await s.request(.GET, TestServer.query("/api/v1/cluster", q: #"(like name "dev%")"#))
            #expect(sexpr.array.count == 1)
            let ordered = try await s.request(
                .GET, TestServer.query("/api/v1/cluster", o: #"{"desc":"name"}"#, p: #"{"limit":1}"#))
            #expect(ordered.array.first?.field("name") == .string("prod-eu-1"))
            #expect(ordered.array.count == 1)
            // '+' in a query string is a space, as in the original (Go's url.ParseQuery).
            let plus = try await s.request(.GET, "/api/v1/cluster?q=(eq+name+%22dev%22)")
            #expect(plus.array.count == 1)

            let updated = try await s.request(.PUT, "/api/v1/cluster/\(uuid)", json: #"{"summary":"FRA"}"#)
            #expect(updated.string("summary") == "FRA")
            #expect(updated.string("name") == "prod-eu-1")
            #expect(try await s.request(.PUT, "/api/v1/cluster/\(uuid)", json: "{}").status == 400)
            #expect(try await s.request(.PUT, "/api/v1/cluster/none", json: #"{"name":"x"}"#).status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/none").status == 404)

            let deleted = try await s.request(.DELETE, "/api/v1/cluster/\(uuid)")
            #expect(deleted.status == 200)
            #expect(deleted.body == "\"OK\"\n")
            #expect(try await s.request(.DELETE, "/api/v1/cluster/\(uuid)").status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/\(uuid)").status == 404)
        }
    }

    @Test("cluster tokens: secret shown once, stored hashed, expiration from the global variable")
    func tokens() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"prod"}"#)
            let before = Timestamp.now()
            let created = try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"agent","cluster_uuid":"c1"}"#)
            #expect(created.status == 200)
            let secret = try #require(created.string("token"))
            #expect(secret.count == 32)
            let uuid = try #require(created.string("uuid"))
            let issued = try #require(created.string("issued_at_time").flatMap(Timestamp.init(parsing:)))
            let expires = try #require(created.string("expiration_time").flatMap(Timestamp.init(parsing:)))
            #expect(issued >= before)
            // now + 8760h exactly, no truncation to midnight.
            #expect(expires == issued.adding(.seconds(8760 * 3600)))

            let got = try await s.request(.GET, "/api/v1/cluster_token/\(uuid)")
            #expect(got.status == 200)
            #expect(got.string("token") == nil)
            let list = try await s.request(.GET, "/api/v1/cluster_token")
            #expect(!list.body.contains(secret))
            #expect(try await s.store.clusterToken(hash: Secrets.sha256Hex(secret))?.uuid == uuid)

            let unknown = try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"x","cluster_uuid":"nope"}"#)
            #expect(unknown.status == 400)
            #expect(unknown.message.contains("cluster_uuid"))
            let dupToken = try await s.request(
                .POST, "/api/v1/cluster_token", json: #"{"name":"x","cluster_uuid":"c1","token":"\#(secret)"}"#)
            #expect(dupToken.status == 409)
            let dupUUID = try await s.request(
                .POST, "/api/v1/cluster_token", json: #"{"uuid":"\#(uuid)","name":"x","cluster_uuid":"c1"}"#)
            #expect(dupUUID.status == 409)

            // A PUT that sets a new secret returns it; other PUTs do not.
            let rotated = try await s.request(
                .PUT, "/api/v1/cluster_token/\(uuid)", json: #"{"token":"my-own-secret-0123456789"}"#)
            #expect(rotated.string("token") == "my-own-secret-0123456789")
            #expect(try await s.store.clusterToken(hash: Secrets.sha256Hex(secret)) == nil)
            let renamed = try await s.request(.PUT, "/api/v1/cluster_token/\(uuid)", json: #"{"name":"renamed"}"#)
            #expect(renamed.string("token") == nil)
            #expect(renamed.string("name") == "renamed")
            let setTimes = try await s.request(
                .PUT, "/api/v1/cluster_token/\(uuid)", json: #"{"expiration_time":"2030-01-01T09:00:00+09:00"}"#)
            #expect(setTimes.string("expiration_time") == "2030-01-01T00:00:00.000000Z")

            let expired = try await s.request(.PUT, "/api/v1/cluster_token/\(uuid)/expire")
            let expiredAt = try #require(expired.string("expiration_time").flatMap(Timestamp.init(parsing:)))
            #expect(expiredAt <= Timestamp.now())
            let refreshed = try await s.request(.PUT, "/api/v1/cluster_token/\(uuid)/refresh")
            let refreshedAt = try #require(refreshed.string("expiration_time").flatMap(Timestamp.init(parsing:)))
            #expect(refreshedAt > Timestamp.now().adding(.seconds(8759 * 3600)))
            #expect(refreshed.string("issued_at_time") == created.string("issued_at_time"))
            #expect(try await s.request(.PUT, "/api/v1/cluster_token/none/refresh").status == 404)

            // Changing the global variable applies to the next token at once.
            let g = KnownGlobalVariable.clusterTokenExpirationTime.uuid
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(g)", json: #"{"value":"1h"}"#).status == 200)
            let short = try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"short","cluster_uuid":"c1"}"#)
            let shortIssued = try #require(short.string("issued_at_time").flatMap(Timestamp.init(parsing:)))
            #expect(short.string("expiration_time") == shortIssued.adding(.seconds(3600)).rfc3339)

            try await s.store.upsertSession(Self.session("s1", cluster: "c1", token: uuid))
            #expect(try await s.request(.DELETE, "/api/v1/cluster_token/\(uuid)").status == 200)
            #expect(try await s.request(.GET, "/api/v1/session/s1").status == 404)
            #expect(try await s.request(.DELETE, "/api/v1/cluster_token/\(uuid)").status == 404)
        }
    }

    static func session(_ uuid: String, cluster: String, token: String, expiresIn seconds: Int64 = 60) -> ClusterSession {
        let now = Timestamp.now()
        return ClusterSession(
            uuid: uuid, clusterUUID: cluster, clusterTokenUUID: token, issuedAt: now,
            expiresAt: now.adding(.seconds(seconds)), clientVersion: "0.3.1", clientLibVersion: "go1.20", created: now,
            updated: now)
    }

    @Test("sessions: list, get, delete, alive with versions, the old alias path")
    func sessions() async throws {
        try await TestServer.with { s in
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"prod"}"#)
            let notAlive = try await s.request(.GET, "/api/v1/cluster/c1/session/alive")
            #expect(notAlive.body == "{\"alive\":false}\n")
            try await s.store.upsertSession(Self.session("old", cluster: "c1", token: "t1", expiresIn: -10))
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/session/alive").json?.field("alive") == .bool(false))
            try await s.store.upsertSession(Self.session("s1", cluster: "c1", token: "t1"))
            let alive = try await s.request(.GET, "/api/v1/cluster/c1/session/alive")
            #expect(alive.json?.field("alive") == .bool(true))
            #expect(alive.string("clientVersion") == "0.3.1")
            #expect(alive.string("clientLibVersion") == "go1.20")
            #expect(try await s.request(.GET, "/api/v1/session/cluster/c1/alive").json == alive.json)
            #expect(try await s.request(.GET, "/api/v1/session/cluster/zz/alive").json?.field("alive") == .bool(false))

            let list = try await s.request(
                .GET, TestServer.query("/api/v1/session", q: #"{"eq":{"cluster_uuid":"c1"}}"#, o: #"{"desc":"expiration_time"}"#))
            #expect(list.array.map { $0.field("uuid") } == [.string("s1"), .string("old")])
            #expect(!list.body.contains("\"token\""))
            let one = try await s.request(.GET, "/api/v1/session/s1")
            #expect(one.string("cluster_client_token_uuid") == "t1")
            #expect(try await s.request(.DELETE, "/api/v1/session/s1").status == 200)
            #expect(try await s.request(.GET, "/api/v1/session/s1").status == 404)
            #expect(try await s.request(.DELETE, "/api/v1/session/s1").status == 404)

            // Deleting the cluster removes its tokens and sessions.
            let token = try await s.request(.POST, "/api/v1/cluster_token", json: #"{"name":"a","cluster_uuid":"c1"}"#)
            let tokenUUID = try #require(token.string("uuid"))
            try await s.store.upsertSession(Self.session("s2", cluster: "c1", token: tokenUUID))
            #expect(try await s.request(.DELETE, "/api/v1/cluster/c1").status == 200)
            #expect(try await s.request(.GET, "/api/v1/cluster_token/\(tokenUUID)").status == 404)
            #expect(try await s.request(.GET, "/api/v1/session/s2").status == 404)
        }
    }
}
