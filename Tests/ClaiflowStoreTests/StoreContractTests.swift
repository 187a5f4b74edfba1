import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

/// The store contract: every test runs against SQLite and against a real PostgreSQL.
@Suite("Store contract")
struct StoreContractTests {
    static func cluster(_ uuid: String, _ name: String, at t: Timestamp = .now()) -> Cluster {
        Cluster(uuid: uuid, name: name, summary: nil, created: t, updated: t)
    }

    static func token(_ uuid: String, cluster: String, secret: String, now: Timestamp = .now()) -> ClusterToken {
        ClusterToken(
            uuid: uuid, name: "token \(uuid)", summary: "s", clusterUUID: cluster, tokenHash: "hash-" + secret,
            issuedAt: now, expiresAt: now.adding(.seconds(3600)), created: now, updated: now)
    }

    static func session(
        _ uuid: String, cluster: String, token: String, expires: Timestamp, version: String? = "v1"
    ) -> ClusterSession {
        let now = Timestamp.now()
        return ClusterSession(
            uuid: uuid, clusterUUID: cluster, clusterTokenUUID: token, issuedAt: now, expiresAt: expires,
            clientVersion: version, clientLibVersion: "lib1", created: now, updated: now)
    }

    func parse(_ schema: TableSchema, q: String? = nil, o: String? = nil, p: String? = nil) throws -> ListQuery {
        try ListQueryParser(schema: schema).parse(q: q, o: o, p: p)
    }

    @Test("migrations apply once and are idempotent", arguments: StoreKind.available)
    func migrationsIdempotent(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            #expect(try await store.migrate() == [])
            let rows = try await store.database.read { db in try await db.query("SELECT version FROM schema_migration") }
            let versions = try rows.map { try $0.integer("version") }.sorted()
            #expect(versions == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        }
    }

    @Test("a cluster round-trips with exact microsecond timestamps", arguments: StoreKind.available)
    func clusterRoundTrip(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp(microseconds: 1_764_000_000_123_457)
            var c = Self.cluster("c1", "prod", at: t)
            c.summary = "main cluster"
            try await store.insertCluster(c)
            #expect(try await store.cluster(uuid: "c1") == c)
            #expect(try await store.cluster(uuid: "nope") == nil)
            await #expect(throws: ClaiflowError(.conflict, "cluster \"c1\" already exists")) {
                try await store.insertCluster(Self.cluster("c1", "again"))
            }
            let later = t.adding(.seconds(5))
            let updated = try #require(
                try await store.updateCluster(uuid: "c1", changes: ClusterChanges(name: "prod-2"), now: later)?.cluster)
            #expect(updated.name == "prod-2")
            #expect(updated.summary == "main cluster")
            #expect(updated.created == t)
            #expect(updated.updated == later)
            #expect(try await store.updateCluster(uuid: "nope", changes: ClusterChanges(name: "x"), now: later) == nil)
        }
    }

    @Test("list filters, orders and pages with bound parameters", arguments: StoreKind.available)
    func listQueries(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let base = Timestamp(parsing: "2026-01-01T00:00:00Z")!
            for i in 0..<10 {
                var c = Self.cluster("c\(i)", i % 2 == 0 ? "Prod-\(i)" : "dev-\(i)", at: base.adding(.seconds(Int64(i) * 86400)))
                c.summary = i < 3 ? nil : "has summary"
                try await store.insertCluster(c)
            }
            let schema = Tables.cluster
            func names(_ q: ListQuery) async throws -> [String] { try await store.clusters(q).map(\.uuid) }
            #expect(try await names(parse(schema)).count == 10)
            #expect(try await names(parse(schema, q: #"{"eq":{"name":"dev-1"}}"#)) == ["c1"])
            // LIKE is case-insensitive on both stores.
            #expect(try await names(parse(schema, q: #"(like name "prod%")"#)) == ["c0", "c2", "c4", "c6", "c8"])
            #expect(try await names(parse(schema, q: #"{"isnull":{"summary":null}}"#)) == ["c0", "c1", "c2"])
            #expect(try await names(parse(schema, q: #"{"in":{"uuid":["c3","c5","zz"]}}"#)) == ["c3", "c5"])
            #expect(try await names(parse(schema, q: #"{"between":{"id":[2,3]}}"#)) == ["c1", "c2"])
            #expect(try await names(parse(schema, q: #"{"gt":{"created":"2026-01-08"}}"#)) == ["c8", "c9"])
            #expect(
                try await names(parse(schema, q: #"(and (not (like name "dev%")) (ge created "2026-01-05T00:00:00Z"))"#)) == [
                    "c4", "c6", "c8",
                ])
            #expect(try await names(parse(schema, q: #"{"or":[{"eq":{"uuid":"c1"}},{"eq":{"uuid":"c9"}}]}"#)) == ["c1", "c9"])
            #expect(try await names(parse(schema, q: #"{"eq":{"summary":null}}"#)) == [])
            #expect(try await names(parse(schema, o: #"{"desc":"created"}"#)).first == "c9")
            #expect(try await names(parse(schema, o: #"{"desc":"created"}"#, p: #"{"limit":3,"page":2}"#)) == ["c6", "c5", "c4"])
            #expect(try await names(parse(schema, p: #"{"limit":4,"page":3}"#)) == ["c8", "c9"])
            // `\` escapes LIKE wildcards the same way on both databases.
            try await store.insertCluster(Self.cluster("p1", "50% off"))
            try await store.insertCluster(Self.cluster("p2", "50x off"))
            #expect(try await names(parse(schema, q: #"{"like":{"name":"50\\%%"}}"#)) == ["p1"])
            #expect(try await names(parse(schema, q: #"{"like":{"name":"50_ off"}}"#)) == ["p1", "p2"])
            // A value that looks like SQL is only ever a bound parameter.
            #expect(try await names(parse(schema, q: #"{"eq":{"name":"x' OR '1'='1"}}"#)) == [])
        }
    }

    @Test("tokens: unknown cluster, duplicates, lookup by hash, update and delete with sessions", arguments: StoreKind.available)
    func tokens(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            try await store.insertCluster(Self.cluster("c1", "prod"))
            await #expect(throws: ClaiflowError.invalidField("cluster_uuid", "cluster \"missing\" does not exist")) {
                try await store.insertClusterToken(Self.token("t0", cluster: "missing", secret: "a"))
            }
            let t1 = Self.token("t1", cluster: "c1", secret: "a")
            try await store.insertClusterToken(t1)
            await #expect(throws: ClaiflowError(.conflict, "cluster token \"t1\" already exists")) {
                try await store.insertClusterToken(Self.token("t1", cluster: "c1", secret: "b"))
            }
            await #expect(throws: ClaiflowError(.conflict, "field \"token\": this token is already in use")) {
                try await store.insertClusterToken(Self.token("t2", cluster: "c1", secret: "a"))
            }
            #expect(try await store.clusterTokens(parse(Tables.clusterToken)).count == 1)
            #expect(try await store.clusterToken(hash: "hash-a") == t1)
            #expect(try await store.clusterToken(hash: "hash-zz") == nil)

            try await store.insertClusterToken(Self.token("t2", cluster: "c1", secret: "b"))
            await #expect(throws: ClaiflowError(.conflict, "field \"token\": this token is already in use")) {
                _ = try await store.updateClusterToken(uuid: "t2", changes: .init(tokenHash: "hash-a"), now: .now())
            }
            let expiry = Timestamp(parsing: "2030-01-01T00:00:00.5Z")!
            let changed = try #require(
                try await store.updateClusterToken(uuid: "t2", changes: .init(name: "renamed", expiresAt: expiry), now: .now()))
            #expect(changed.name == "renamed")
            #expect(changed.expiresAt == expiry)
            #expect(changed.tokenHash == "hash-b")
            #expect(try await store.updateClusterToken(uuid: "none", changes: .init(name: "x"), now: .now()) == nil)

            try await store.upsertSession(Self.session("s1", cluster: "c1", token: "t1", expires: expiry))
            try await store.upsertSession(Self.session("s2", cluster: "c1", token: "t2", expires: expiry))
            #expect(try await store.deleteClusterToken(uuid: "t1"))
            #expect(try await store.deleteClusterToken(uuid: "t1") == false)
            #expect(try await store.session(uuid: "s1") == nil)
            #expect(try await store.session(uuid: "s2") != nil)
        }
    }

    @Test("sessions: upsert refreshes, latest per cluster, delete", arguments: StoreKind.available)
    func sessions(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            let s1 = Self.session("s1", cluster: "c1", token: "t1", expires: now.adding(.seconds(60)))
            try await store.upsertSession(s1)
            var s1b = s1
            s1b.expiresAt = now.adding(.seconds(120))
            s1b.clientVersion = "v2"
            s1b.updated = now.adding(.seconds(1))
            s1b.created = now.adding(.seconds(1))  // ignored by the upsert
            try await store.upsertSession(s1b)
            let stored = try #require(try await store.session(uuid: "s1"))
            #expect(stored.expiresAt == s1b.expiresAt)
            #expect(stored.clientVersion == "v2")
            #expect(stored.created == s1.created)
            try await store.upsertSession(Self.session("s2", cluster: "c1", token: "t1", expires: now.adding(.seconds(30))))
            try await store.upsertSession(Self.session("s3", cluster: "c2", token: "t9", expires: now.adding(.seconds(999))))
            #expect(try await store.latestSession(clusterUUID: "c1")?.uuid == "s1")
            #expect(try await store.latestSession(clusterUUID: "none") == nil)
            #expect(
                try await store.sessions(parse(Tables.session, q: #"{"eq":{"cluster_uuid":"c1"}}"#)).map(\.uuid) == ["s1", "s2"])
            #expect(try await store.deleteSession(uuid: "s2"))
            #expect(try await store.deleteSession(uuid: "s2") == false)
        }
    }

    @Test("deleting a cluster removes its tokens and sessions only", arguments: StoreKind.available)
    func deleteCluster(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            try await store.insertCluster(Self.cluster("c1", "a"))
            try await store.insertCluster(Self.cluster("c2", "b"))
            try await store.insertClusterToken(Self.token("t1", cluster: "c1", secret: "1"))
            try await store.insertClusterToken(Self.token("t2", cluster: "c2", secret: "2"))
            try await store.upsertSession(Self.session("s1", cluster: "c1", token: "t1", expires: .now()))
            try await store.upsertSession(Self.session("s2", cluster: "c2", token: "t2", expires: .now()))
            #expect(try await store.deleteCluster(uuid: "c1"))
            #expect(try await store.deleteCluster(uuid: "c1") == false)
            #expect(try await store.clusterToken(uuid: "t1") == nil)
            #expect(try await store.session(uuid: "s1") == nil)
            #expect(try await store.clusterToken(uuid: "t2") != nil)
            #expect(try await store.session(uuid: "s2") != nil)
        }
    }

    @Test("global variables are seeded once and updated", arguments: StoreKind.available)
    func globals(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let seeded = try await store.seedGlobalVariables(secret: "c2VjcmV0", now: .now())
            #expect(seeded.count == 4)
            #expect(try await store.seedGlobalVariables(secret: "other", now: .now()).isEmpty)
            let all = try await store.globalVariables(parse(Tables.globalVariable))
            #expect(Set(all.map(\.uuid)) == Set(KnownGlobalVariable.allCases.map(\.uuid)))
            let secret = try #require(all.first { $0.uuid == KnownGlobalVariable.clientSessionSignatureSecret.uuid })
            #expect(secret.value == "c2VjcmV0")
            let uuid = KnownGlobalVariable.clientSessionExpirationTime.uuid
            let updated = try #require(try await store.updateGlobalVariable(uuid: uuid, value: "2m", now: .now()))
            #expect(updated.value == "2m")
            #expect(try await store.globalVariable(uuid: uuid)?.value == "2m")
            #expect(try await store.updateGlobalVariable(uuid: "nope", value: "1", now: .now()) == nil)
        }
    }

    @Test("API keys: the bootstrap key is inserted only into an empty table", arguments: StoreKind.available)
    func apiKeys(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let k1 = APIKey(uuid: "k1", name: "boot", role: .admin, keyHash: "h1", prefix: "cfk_1", created: .now())
            let k2 = APIKey(uuid: "k2", name: "ci", role: .viewer, keyHash: "h2", prefix: "cfk_2", created: .now())
            #expect(try await store.insertFirstAPIKey(k1))
            #expect(try await store.insertFirstAPIKey(k2) == false)
            try await store.insertAPIKey(k2)
            #expect(try await store.apiKey(hash: "h2") == k2)
            #expect(try await store.apiKeys(parse(Tables.apiKey, q: #"{"eq":{"role":"viewer"}}"#)) == [k2])
            #expect(try await store.deleteAPIKey(uuid: "k2"))
            #expect(try await store.apiKey(hash: "h2") == nil)
        }
    }

    @Test("a failed transaction leaves nothing behind", arguments: StoreKind.available)
    func rollback(kind: StoreKind) async throws {
        struct Boom: Error {}
        try await StoreFixture.withStore(kind) { store in
            await #expect(throws: Boom.self) {
                try await store.database.transaction { db in
                    try await db.execute(
                        "INSERT INTO cluster (uuid, name, created, updated) VALUES ('x', 'x', 0, 0)")
                    throw Boom()
                }
            }
            #expect(try await store.cluster(uuid: "x") == nil)
            // The writer is usable again after the rollback.
            try await store.insertCluster(Self.cluster("y", "y"))
            #expect(try await store.cluster(uuid: "y") != nil)
        }
    }

    @Test("concurrent writers all commit", arguments: StoreKind.available)
    func concurrentWrites(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    group.addTask { try await store.insertCluster(Self.cluster("c\(i)", "n\(i)")) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.clusters(parse(Tables.cluster)).count == 40)
        }
    }

    @Test(
        "retention deletes what ended before the cut-off, in batches, and nothing that is queued or running",
        arguments: StoreKind.available)
    func retention(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let old = Timestamp.now().adding(.seconds(-10 * 86_400))
            let recent = Timestamp.now()
            try await store.insertCluster(Self.cluster("c1", "one"))
            // (uuid, status, updated): four old finished, one recent finished, two old unfinished.
            let rows: [(String, Int, Timestamp)] = [
                ("done1", 4, old), ("done2", 8, old), ("done3", 16, old), ("done4", 32, old), ("fresh", 4, recent),
                ("queued", 0, old), ("running", 2, old),
            ]
            _ = try await store.database.transaction { db in
                for (uuid, status, updated) in rows {
                    try await db.execute(
                        """
                        INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority, status,
                            step_seq, created, updated)
                        VALUES ('c1', \(bind: uuid), 'n', '', '[]', 'null', 1, 0, \(bind: status), 0, \(bind: .timestamp(updated)),
                            \(bind: .timestamp(updated)))
                        """)
                    try await db.execute(
                        """
                        INSERT INTO service_status (cluster_uuid, uuid, step_max, step_seq, status, created)
                        VALUES ('c1', \(bind: uuid), 1, 0, \(bind: status), \(bind: .timestamp(updated)))
                        """)
                    try await db.execute(
                        """
                        INSERT INTO service_result (cluster_uuid, uuid, result_type, result, created)
                        VALUES ('c1', \(bind: uuid), 1, '{}', \(bind: .timestamp(updated)))
                        """)
                }
                for (i, (status, updated)) in [("delivered", old), ("dead", old), ("pending", old), ("delivered", recent)]
                    .enumerated()
                {
                    try await db.execute(
                        """
                        INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, created, updated)
                        VALUES (\(bind: "d\(i)"), 'w', 'c1', 'done1', '{}', \(bind: status), \(bind: .timestamp(updated)),
                            \(bind: .timestamp(updated)))
                        """)
                }
                return 0
            }
            try await store.insertClusterToken(Self.token("t1", cluster: "c1", secret: "s1"))
            try await store.upsertSession(Self.session("gone", cluster: "c1", token: "t1", expires: old))
            try await store.upsertSession(
                Self.session("live", cluster: "c1", token: "t1", expires: recent.adding(.seconds(3600))))

            let cutOff = Timestamp.now().adding(.seconds(-86_400))
            // Batches of 3: the first takes three of the four old finished services.
            let first = try await store.pruneEnded(before: cutOff, limit: 3)
            #expect(first == PruneCounts(services: 3, deliveries: 2, sessions: 1))
            let second = try await store.pruneEnded(before: cutOff, limit: 3)
            #expect(second == PruneCounts(services: 1, deliveries: 0, sessions: 0))
            #expect(try await store.pruneEnded(before: cutOff, limit: 3) == PruneCounts())

            func uuids(_ table: String, _ column: String = "uuid") async throws -> Set<String> {
                let rows = try await store.database.read { db in try await db.query("SELECT \(raw: column) FROM \(raw: table)") }
                return Set(try rows.map { try $0.text(column) })
            }
            #expect(try await uuids("service") == ["fresh", "queued", "running"])
            #expect(try await uuids("service_status") == ["fresh", "queued", "running"])
            #expect(try await uuids("service_result") == ["fresh", "queued", "running"])
            #expect(try await uuids("webhook_delivery") == ["d2", "d3"])
            #expect(try await uuids("cluster_session") == ["live"])
        }
    }

    @Test(
        "a claim released for a departed poll requeues the service at once, without counting the attempt",
        arguments: StoreKind.available)
    func releaseClaim(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            _ = try await store.database.transaction { db in
                try await db.execute(
                    """
                    INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority, status,
                        step_seq, created, updated)
                    VALUES ('c1', 's1', 'n', '', '[]', 'null', 1, 0, 0, 0, \(bind: .timestamp(now)), \(bind: .timestamp(now)))
                    """)
            }
            let claimed = try await store.claimServices(
                clusterUUID: "c1", sessionUUID: "sess", limit: 5, validAfter: now.adding(.seconds(-60)),
                leaseUntil: now.adding(.seconds(60)), now: now)
            #expect(claimed.map(\.service.uuid) == ["s1"])
            #expect(try await store.releaseClaim(clusterUUID: "c1", sessionUUID: "other", uuids: ["s1"], now: now).isEmpty)
            let released = try await store.releaseClaim(clusterUUID: "c1", sessionUUID: "sess", uuids: ["s1"], now: now)
            #expect(released.map(\.record.status) == [.regist])
            #expect(released.first?.service.sessionUUID == nil)
            let row = try #require(
                try await store.database.read { db in
                    try await db.query("SELECT status, attempts, lease_expires FROM service WHERE uuid = 's1'")
                }.first)
            #expect(try row.integer("status") == 0)
            #expect(try row.integer("attempts") == 0)
            let history = try await store.database.read { db in
                try await db.query("SELECT status, message FROM service_status WHERE uuid = 's1' ORDER BY id")
            }
            #expect(try history.map { try $0.integer("status") } == [1, 0])
            #expect(try history.last?.text("message") == "requeued: the poll's client went away before it received it")
            #expect(try await store.releaseClaim(clusterUUID: "c1", sessionUUID: "sess", uuids: ["s1"], now: now).isEmpty)
            // It can be claimed again.
            let again = try await store.claimServices(
                clusterUUID: "c1", sessionUUID: "sess2", limit: 5, validAfter: now.adding(.seconds(-60)),
                leaseUntil: now.adding(.seconds(60)), now: now)
            #expect(again.map(\.service.uuid) == ["s1"])
        }
    }

    @Test(
        "re-sealing moves secrets of a previous key (and plaintext rows) to the current key, once", arguments: StoreKind.available
    )
    func reseal(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let oldKey = SecretBox.newKey()
            let newKey = SecretBox.newKey()
            let old = try SecretBox(base64Key: oldKey)
            let current = try SecretBox(base64Key: newKey)
            let now = Timestamp.now()
            let values: [(String, String)] = [
                ("sealed-old", try old.seal(#"{"password":"a"}"#)), ("plain", #"{"password":"b"}"#),
                ("sealed-new", try current.seal(#"{"password":"c"}"#)),
            ]
            let headers = try old.seal(#"{"Authorization":"Bearer x"}"#)
            let secret = try old.seal("whsec_1")
            _ = try await store.database.transaction { db in
                for (uuid, inputs) in values {
                    try await db.execute(
                        """
                        INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority, status,
                            step_seq, created, updated)
                        VALUES ('c1', \(bind: uuid), 'n', '', '[]', \(bind: inputs), 1, 0, 0, 0, \(bind: .timestamp(now)), \(bind: .timestamp(now)))
                        """)
                }
                try await db.execute(
                    """
                    INSERT INTO webhook (uuid, name, url, method, headers, secret, created, updated)
                    VALUES ('h1', 'h', 'http://127.0.0.1:1/', 'POST', \(bind: headers), \(bind: secret), \(bind: .timestamp(now)),
                        \(bind: .timestamp(now)))
                    """)
                return 0
            }
            let rotating = try SecretBox(base64Key: newKey, previousKeys: [oldKey])
            #expect(try await store.reseal(with: rotating, batch: 2) == 4)
            #expect(try await store.reseal(with: rotating, batch: 2) == 0)
            let services = try await store.database.read { db in
                try await db.query("SELECT uuid, inputs FROM service ORDER BY id")
            }
            #expect(
                try services.map { try current.open(try $0.text("inputs")) } == [
                    #"{"password":"a"}"#, #"{"password":"b"}"#, #"{"password":"c"}"#,
                ])
            let hook = try #require(
                try await store.database.read { db in try await db.query("SELECT headers, secret FROM webhook") }.first)
            #expect(try current.open(try hook.text("headers")) == #"{"Authorization":"Bearer x"}"#)
            #expect(try current.open(try hook.text("secret")) == "whsec_1")
            #expect(throws: (any Error).self) { try current.open(headers) }
        }
    }
}
