import ClaiflowCore
import ClaiflowQuery
import ClaiflowTestSupport
import Testing

@testable import ClaiflowStore

/// SQLite's choice between a prefix's index range and a walk in the page's order
/// (`PrefixRangePlanner`), on a real SQLite database.
@Suite("Prefix range planner (SQLite)")
struct PrefixRangePlannerTests {
    /// 2,000 clusters `wide-0…` and 5 `narrow-0…` among them, created one second apart in
    /// reverse order of their ids.
    static func seed(_ store: Store) async throws {
        _ = try await store.database.transaction { db in
            try await db.execute(
                """
                WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 2004)
                INSERT INTO cluster (uuid, name, summary, created, updated)
                SELECT 'c' || i, CASE WHEN i % 400 = 7 THEN 'narrow-' || i ELSE 'wide-' || i END, NULL,
                    1764000000000000 - i * 1000000, 1764000000000000
                FROM s
                """)
        }
    }

    static func query(_ q: String, o: String? = nil) throws -> ListQuery {
        try ListQueryParser(schema: Tables.cluster).parse(q: q, o: o, p: #"{"limit":20}"#)
    }

    /// The rows SQLite returns for the same page with its own plan (no planner involved).
    static func reference(_ store: Store, _ query: ListQuery) async throws -> [String] {
        var sql: SQL = "SELECT uuid FROM cluster WHERE "
        sql += QueryRenderer.render(query.condition ?? .and([]), dialect: .sqlite)
        sql += QueryRenderer.orderBy(query.order, fallback: "id")
        sql += " LIMIT 20"
        let finalSQL = sql
        return try await store.database.read { db in try await db.query(finalSQL) }.map { try $0.text("uuid") }
    }

    static func plan(_ store: Store, _ condition: Condition, unindexed: Set<String>) async throws -> [String] {
        let sql: SQL =
            "EXPLAIN QUERY PLAN SELECT * FROM cluster WHERE "
            + QueryRenderer.render(condition, dialect: .sqlite, unindexed: unindexed) + " ORDER BY id LIMIT 20"
        return try await store.database.read { db in try await db.query(sql) }.map { try $0.text("detail") }
    }

    @Test("a broad prefix walks the table in the page's order, a narrow one reads the name index")
    func choosesByMatchCount() async throws {
        try await StoreFixture.withStore(.sqlite) { store in
            try await Self.seed(store)
            let planner = store.prefixPlanner
            let walkWide = try await store.database.read { db in
                try await planner.shouldWalk(table: "cluster", column: "name", pattern: "WIDE-%", window: 20, db: db)
            }
            let walkNarrow = try await store.database.read { db in
                try await planner.shouldWalk(table: "cluster", column: "name", pattern: "narrow-%", window: 20, db: db)
            }
            // A page deeper than the prefix's ~1,100 matches: a walk would read the whole table.
            let walkDeep = try await store.database.read { db in
                try await planner.shouldWalk(table: "cluster", column: "name", pattern: "wide-1%", window: 1_200, db: db)
            }
            #expect(walkWide)
            #expect(!walkNarrow)
            #expect(!walkDeep)
            #expect(planner.probesRun == 3)

            // The `+` keeps SQLite off the name index; without it, the index serves the prefix.
            let like = Condition.compare(column: "name", op: .like, value: .text("wide-%"))
            let hidden = try await Self.plan(store, like, unindexed: ["name"])
            let shown = try await Self.plan(store, like, unindexed: [])
            #expect(!hidden.contains { $0.contains("cluster_name_nocase") }, "plan: \(hidden)")
            #expect(shown.contains { $0.contains("cluster_name_nocase") }, "plan: \(shown)")
        }
    }

    @Test("pages are the same rows whichever plan serves them")
    func sameRowsEitherPlan() async throws {
        try await StoreFixture.withStore(.sqlite) { store in
            try await Self.seed(store)
            let queries = [
                try Self.query(#"{"like":{"name":"wide-1%"}}"#),
                try Self.query(#"{"like":{"name":"narrow-%"}}"#),
                try Self.query(
                    #"{"and":[{"like":{"name":"WIDE-%"}},{"gt":{"created":"2025-11-01T00:00:00Z"}}]}"#, o: #"{"desc":"created"}"#),
                try Self.query(#"{"and":[{"like":{"name":"wide-%"}},{"like":{"name":"%9"}}]}"#, o: #"{"asc":"name"}"#),
            ]
            for query in queries {
                let rows = try await store.clusters(query).map(\.uuid)
                #expect(!rows.isEmpty)
                #expect(rows == (try await Self.reference(store, query)), "query \(query)")
            }
            let probes = store.prefixPlanner.probesRun
            #expect(probes == 4)
            // An unpaged list or a pattern with a leading wildcard is never probed.
            _ = try await store.clusters(ListQuery(condition: .compare(column: "name", op: .like, value: .text("wide-%"))))
            _ = try await store.clusters(try Self.query(#"{"like":{"name":"%wide"}}"#))
            #expect(store.prefixPlanner.probesRun == probes)
        }
    }

    @Test("a choice is reused within its lifetime, probed again after it")
    func choiceLifetime() async throws {
        try await StoreFixture.withStore(.sqlite) { store in
            try await Self.seed(store)
            func walk(_ planner: PrefixRangePlanner) async throws -> Bool {
                try await store.database.read { db in
                    try await planner.shouldWalk(table: "cluster", column: "name", pattern: "wide-%", window: 20, db: db)
                }
            }
            // Long enough for any machine's load: the second call must come from the cache.
            let lasting = PrefixRangePlanner(lifetime: .seconds(3600))
            #expect(try await walk(lasting))
            #expect(try await walk(lasting))
            #expect(lasting.probesRun == 1)
            // A choice already expired when taken: every call probes.
            let expired = PrefixRangePlanner(lifetime: .zero)
            #expect(try await walk(expired))
            #expect(try await walk(expired))
            #expect(expired.probesRun == 2)
        }
    }

    @Test("the break-even of the two plans")
    func breakEven() {
        #expect(!PrefixRangePlanner.walkIsCheaper(matches: 20, rows: 5_000, window: 20))
        #expect(!PrefixRangePlanner.walkIsCheaper(matches: 200, rows: 5_000, window: 20))
        #expect(PrefixRangePlanner.walkIsCheaper(matches: 1_111, rows: 5_000, window: 20))
        #expect(!PrefixRangePlanner.walkIsCheaper(matches: 900, rows: 100_000, window: 20))
        #expect(PrefixRangePlanner.walkIsCheaper(matches: 4_096, rows: 100_000, window: 20))
        #expect(!PrefixRangePlanner.walkIsCheaper(matches: 4_096, rows: 100_000, window: 4_096))
    }
}
