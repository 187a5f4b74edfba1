import ClaiflowCore
import ClaiflowQuery
import ClaiflowTestSupport
import Foundation
import Testing

@testable import ClaiflowStore

/// Migration 5 (the indexes for large fleets) and the `like` rendering that can use them: every
/// test runs against SQLite and against a real PostgreSQL.
@Suite("Large-fleet indexes")
struct LargeFleetIndexTests {
    static let indexes = [
        "cluster_created", "service_cluster_id", "service_cluster_created", "service_status_id",
    ]

    static func nameIndex(_ dialect: SQLDialect) -> String {
        dialect == .sqlite ? "cluster_name_nocase" : "cluster_name_lower"
    }

    /// The index names of the cluster and service tables.
    static func indexNames(_ store: Store) async throws -> Set<String> {
        let sql: SQL =
            store.dialect == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('cluster', 'service')"
            : "SELECT indexname AS name FROM pg_indexes WHERE tablename IN ('cluster', 'service')"
        return Set(try await store.database.read { db in try await db.query(sql) }.map { try $0.text("name") })
    }

    /// Opens a new database migrated only up to version 4, as a server of the previous release left it.
    static func withVersion4Store<T>(_ kind: StoreKind, _ body: (Store) async throws -> T) async throws -> T {
        try await StoreFixture.withStore(kind, migrate: false) { store in
            #expect(try await Migrations.run(on: store.database, through: 4) == [1, 2, 3, 4])
            return try await body(store)
        }
    }

    @Test("migration 5 applies to a version-4 database with rows and adds the indexes", arguments: StoreKind.available)
    func migrationFromVersion4(kind: StoreKind) async throws {
        try await Self.withVersion4Store(kind) { store in
            let before = try await Self.indexNames(store)
            #expect(before.isDisjoint(with: Self.indexes + [Self.nameIndex(store.dialect)]))
            let t = Timestamp(microseconds: 1_764_000_000_000_000)
            // Rows as version 4 wrote them (the store's own inserts write later columns).
            _ = try await store.database.transaction { db in
                try await db.execute(
                    """
                    INSERT INTO cluster (uuid, name, summary, created, updated)
                    VALUES ('c1', 'Prod-1', NULL, \(bind: .timestamp(t)), \(bind: .timestamp(t)))
                    """)
                try await db.execute(
                    """
                    INSERT INTO service (cluster_uuid, uuid, name, template_uuid, flow, inputs, step_max, priority,
                        status, step_seq, created, updated)
                    VALUES ('c1', 's1', 'n', '', '[]', 'null', 1, 0, \(bind: ServiceStatus.regist), 0,
                        \(bind: .timestamp(t)), \(bind: .timestamp(t)))
                    """)
            }

            let applied = try await store.migrate()
            #expect(applied.first == 5)
            #expect(try await store.migrate() == [])
            let after = try await Self.indexNames(store)
            #expect(after.isSuperset(of: Self.indexes + [Self.nameIndex(store.dialect)]))
            let like = try ListQueryParser(schema: Tables.cluster).parse(q: #"{"like":{"name":"prod%"}}"#, o: nil, p: nil)
            #expect(try await store.clusters(like).map(\.uuid) == ["c1"])
            let services = try await store.services(
                ListQuery(
                    condition: .and([
                        .compare(column: "cluster_uuid", op: .eq, value: .text("c1")),
                        .inList(column: "status", values: [.integer(0)]),
                    ])))
            #expect(services.map(\.uuid) == ["s1"])
        }
    }

    @Test("a webhook's delivery log of one status, newest first, is read through webhook_delivery_status (SQLite)")
    func deliveryLogByStatusUsesItsIndex() async throws {
        try await StoreFixture.withStore(.sqlite) { store in
            let plan: [String] = try await store.database.transaction { db in
                try await db.query(
                    """
                    EXPLAIN QUERY PLAN SELECT * FROM webhook_delivery
                    WHERE webhook_uuid = 'h1' AND status = 3 ORDER BY id DESC LIMIT 51
                    """
                ).map { try $0.text("detail") }
            }
            #expect(plan.contains { $0.contains("webhook_delivery_status") }, "plan: \(plan)")
            #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "plan: \(plan)")
        }
    }

    @Test("a prefix like on the cluster name can be served by the name index", arguments: StoreKind.available)
    func prefixLikeUsesNameIndex(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let condition = QueryRenderer.render(
                .compare(column: "name", op: .like, value: .text("Prod-1%")), dialect: store.dialect)
            let plan: [String] = try await store.database.transaction { db in
                switch db.dialect {
                case .sqlite:
                    return try await db.query("EXPLAIN QUERY PLAN SELECT * FROM cluster WHERE " + condition).map {
                        try $0.text("detail")
                    }
                case .postgres:
                    // The table is tiny: make a sequential scan look expensive so the index is
                    // chosen whenever it can serve the condition at all (for this transaction only).
                    try await db.execute("SET LOCAL enable_seqscan = off")
                    return try await db.query("EXPLAIN SELECT * FROM cluster WHERE " + condition).map {
                        try $0.text("query plan")
                    }
                }
            }
            #expect(plan.contains { $0.contains(Self.nameIndex(store.dialect)) }, "plan: \(plan)")
        }
    }

    /// Names that probe case folding (ASCII and not), the wildcards as literal characters and
    /// the escape character.
    static let names = [
        "Prod-1", "prod-2", "PROD_3", "prodx4", "50% off", "50_ off", "50%", "500 off", "Éclair", "éclair", "ÉCLAIR-x",
        "Straße", "STRASSE", "İstanbul", "istanbul", "ISTANBUL", "Ωmega", "ωmega", "naïve", "NAÏVE", #"a\b"#, "a_b",
        "Ab", "",
    ]

    static let patterns = [
        "prod%", "PROD%", "prod_%", #"prod\_%"#, #"50\%%"#, #"50\_%"#, "50_ off", "50%", "éclair%", "ÉCLAIR%",
        "Éclair", "eclair%", "straße%", "STRASSE", "strasse", "İst%", "ist%", "ISTANBUL", "ωmega", "ΩMEGA", "%mega",
        "naï%", "NAÏ%", #"a\\b"#, #"a\b"#, "a_b", "A%", "%", "_", "", "%x", "%\u{00E9}%",
    ]

    @Test("like matches the same rows as the previous rendering (LIKE / ILIKE)", arguments: StoreKind.available)
    func likeSameRowsAsBefore(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp.now()
            for (i, name) in Self.names.enumerated() {
                try await store.insertCluster(Cluster(uuid: "c\(i)", name: name, summary: nil, created: t, updated: t))
            }
            let previousOperator = store.dialect == .sqlite ? "LIKE" : "ILIKE"
            func previous(_ pattern: String) async throws -> [String] {
                try await store.database.read { db in
                    try await db.query(
                        #"SELECT uuid FROM cluster WHERE "name" \#(raw: previousOperator) \#(bind: pattern) ESCAPE '\' ORDER BY id"#
                    ).map { try $0.text("uuid") }
                }
            }
            func now(_ pattern: String) async throws -> [String] {
                try await store.clusters(ListQuery(condition: .compare(column: "name", op: .like, value: .text(pattern))))
                    .map(\.uuid)
            }
            for pattern in Self.patterns {
                #expect(try await now(pattern) == previous(pattern), "pattern \(pattern)")
            }
            // The same negated, and the same error for a pattern ending in the escape character.
            for pattern in Self.patterns {
                let not = ListQuery(condition: .not(.compare(column: "name", op: .like, value: .text(pattern))))
                let all = Set(Self.names.indices.map { "c\($0)" })
                #expect(Set(try await store.clusters(not).map(\.uuid)) == all.subtracting(try await previous(pattern)))
            }
            // A pattern ending in an unpaired escape character: an error on PostgreSQL once a
            // row's prefix matches (also when the planner could answer from the name index), no
            // match on SQLite.
            func outcome(_ body: () async throws -> [String]) async -> [String]? { try? await body() }
            for dangling in [#"prod\"#, #"prod-1\"#, #"a\\\"#, #"zzz\"#] {
                let danglingNow = await outcome { try await now(dangling) }
                let danglingPrevious = await outcome { try await previous(dangling) }
                #expect(danglingNow == danglingPrevious, "pattern \(dangling): now \(String(describing: danglingNow))")
            }

            // Fixed points, so that both renderings being wrong in the same way still fails.
            #expect(try await now("prod%") == ["c0", "c1", "c2", "c3"])
            #expect(try await now(#"prod\_%"#) == ["c2"])
            #expect(try await now(#"50\%%"#) == ["c4", "c6"])
            #expect(try await now("50_ off") == ["c4", "c5", "c7"])
            #expect(try await now(#"a\\b"#) == ["c20"])
            #expect(try await now("a_b") == ["c20", "c21"])
            if store.dialect == .sqlite {
                // SQLite folds ASCII letters only (PostgreSQL folds by the database's ctype).
                #expect(try await now("éclair%") == ["c9"])
                #expect(try await now("ab") == ["c22"])
            }
        }
    }

    @Test("PostgreSQL renders like as lower(column) LIKE lower(pattern), SQLite as LIKE")
    func likeRendering() {
        let c = Condition.compare(column: "name", op: .like, value: .text("a%"))
        #expect(QueryRenderer.render(c, dialect: .postgres).render(.postgres).text == #"lower("name") LIKE lower($1) ESCAPE '\'"#)
        #expect(QueryRenderer.render(c, dialect: .sqlite).render(.sqlite).text == #""name" LIKE ? ESCAPE '\'"#)
        let dangling = Condition.compare(column: "name", op: .like, value: .text(#"a\"#))
        #expect(QueryRenderer.render(dangling, dialect: .postgres).render(.postgres).text == #""name" ILIKE $1 ESCAPE '\'"#)
        let escaped = Condition.compare(column: "name", op: .like, value: .text(#"a\\"#))
        #expect(
            QueryRenderer.render(escaped, dialect: .postgres).render(.postgres).text
                == #"lower("name") LIKE lower($1) ESCAPE '\'"#)
    }
}
