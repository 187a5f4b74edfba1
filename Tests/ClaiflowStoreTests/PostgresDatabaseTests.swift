import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

/// The PostgreSQL connection layer: transactions whose BEGIN is pipelined with their first
/// statement, single statements that commit by themselves, and the pool's size from the URL.
@Suite("PostgreSQL database", .enabled(if: StoreKind.available.contains(.postgres)))
struct PostgresDatabaseTests {
    struct Boom: Error {}

    /// A fresh migrated database, opened with `query` appended to its URL.
    func withDatabase(query: String = "", _ body: (PostgresDatabase, Store, String) async throws -> Void) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
        let database = try PostgresDatabase(url: url + query, logger: StoreFixture.logger)
        let store = Store(database: database)
        do {
            try await store.migrate()
            try await body(database, store, url)
        } catch {
            await store.close()
            try? await cleanup()
            throw error
        }
        await store.close()
        try await cleanup()
    }

    func clusterCount(_ database: PostgresDatabase) async throws -> Int64 {
        try await database.read { db in try await db.first("SELECT COUNT(*) AS n FROM cluster") }?.integer("n") ?? -1
    }

    func insert(_ uuid: String) -> SQL {
        "INSERT INTO cluster (uuid, name, summary, created, updated) VALUES (\(bind: uuid), 'n', NULL, 1, 1)"
    }

    @Test("a failing single-statement write leaves nothing, and a duplicate cluster is still a 409")
    func autocommitAtomic() async throws {
        try await withDatabase { database, store, _ in
            #expect(try await database.autocommit(insert("a")) == 1)
            // The second row violates uuid's unique constraint: the first one must not stay.
            await #expect(throws: StoreError.self) {
                try await database.autocommit(
                    "INSERT INTO cluster (uuid, name, summary, created, updated) VALUES ('b', 'n', NULL, 1, 1), ('a', 'n', NULL, 1, 1)"
                )
            }
            #expect(try await clusterCount(database) == 1)
            let c = Cluster(uuid: "a", name: "again", summary: nil, created: .now(), updated: .now())
            do {
                try await store.insertCluster(c)
                Issue.record("a duplicate uuid was accepted")
            } catch let e as ClaiflowError {
                #expect(e.kind == .conflict)
            }
            #expect(try await clusterCount(database) == 1)
        }
    }

    @Test("a transaction is rolled back when its body throws, its first statement fails or it runs no statement")
    func transactionRollback() async throws {
        // One connection, so that every transaction below runs on the connection the previous one left.
        try await withDatabase(query: "?pool_max_conns=1") { database, _, _ in
            await #expect(throws: Boom.self) {
                try await database.transaction { db in
                    try await db.execute(insert("x"))
                    throw Boom()
                }
            }
            #expect(try await clusterCount(database) == 0)
            // The first statement (queued behind BEGIN) fails: the rest of the body must not run.
            await #expect(throws: StoreError.self) {
                try await database.transaction { db in
                    try await db.execute("INSERT INTO no_such_table VALUES (1)")
                    try await db.execute(insert("y"))
                }
            }
            await #expect(throws: Boom.self) {
                try await database.transaction { _ in throw Boom() }
            }
            #expect(try await database.transaction { _ in 42 } == 42)
            #expect(try await clusterCount(database) == 0)
            // The connection is back outside any transaction: an autocommitted row is visible elsewhere.
            try await database.autocommit(insert("z"))
            try await database.transaction { db in
                try await db.execute(insert("t1"))
                try await db.execute(insert("t2"))
            }
            #expect(try await clusterCount(database) == 3)
        }
    }

    @Test("a connection lost in the middle of a transaction commits nothing, and the pool opens a new one")
    func connectionLossMidTransaction() async throws {
        try await withDatabase(query: "?pool_max_conns=1") { database, _, url in
            let observer = try PostgresDatabase(url: url, logger: StoreFixture.logger)
            await #expect(throws: StoreError.self) {
                try await database.transaction { db in
                    try await db.execute(insert("lost"))
                    let pid = try await db.first("SELECT pg_backend_pid() AS pid")?.integer("pid") ?? 0
                    _ = try await observer.read { o in try await o.query("SELECT pg_terminate_backend(\(bind: pid))") }
                    try await db.execute(insert("after"))
                }
            }
            let left = try await observer.read { o in try await o.first("SELECT COUNT(*) AS n FROM cluster") }?.integer("n")
            #expect(left == 0)
            _ = try await database.transaction { db in try await db.execute(insert("next")) }
            #expect(try await clusterCount(database) == 1)
            await observer.close()
        }
    }

    @Test("a prepared statement that failed to prepare, or whose plan a schema change broke, is prepared again")
    func preparedStatementsRecover() async throws {
        // One connection, so that the second call runs where the first one prepared (or failed to).
        try await withDatabase(query: "?pool_max_conns=1") { database, _, _ in
            let select: SQL = "SELECT * FROM later WHERE id > \(bind: 0)"
            await #expect(throws: StoreError.self) { try await database.read { db in try await db.query(select) } }
            try await database.autocommit("CREATE TABLE later (id BIGINT)")
            try await database.autocommit("INSERT INTO later VALUES (1)")
            #expect(try await database.read { db in try await db.query(select) }.count == 1)
            // The prepared `SELECT *` returns one column; after this it would return two.
            try await database.autocommit("ALTER TABLE later ADD COLUMN name TEXT")
            // The first call may fail (PostgreSQL refuses the old plan), which retires the name.
            _ = try? await database.read { db in try await db.query(select) }
            let row = try await database.read { db in try await db.first(select) }
            #expect(row?.values.keys.sorted() == ["id", "name"])
            #expect(try row?.integer("id") == 1)
        }
        // The same statements unnamed, for a pooler that keeps no prepared statements.
        try await withDatabase(query: "?prepared_statements=off") { database, _, _ in
            try await database.autocommit("INSERT INTO cluster (uuid, name, created, updated) VALUES ('u', 'n', 1, 2)")
            let row = try await database.read { db in try await db.first("SELECT * FROM cluster WHERE uuid = \(bind: "u")") }
            #expect(try row?.timestamp("updated") == Timestamp(microseconds: 2))
        }
    }

    @Test(
        "an INSERT, UPDATE or DELETE reports the rows it changed, prepared or not", arguments: ["", "?prepared_statements=off"])
    func changedRowCounts(query: String) async throws {
        try await withDatabase(query: query) { database, _, _ in
            for _ in 0..<2 {  // the second time runs the prepared statements by name
                let counts = try await database.transaction { db in
                    [
                        try await db.execute(
                            "INSERT INTO cluster (uuid, name, created, updated) VALUES ('a', 'n', 1, 1), ('b', 'n', 1, 1)"),
                        try await db.execute(
                            "INSERT INTO cluster (uuid, name, created, updated) VALUES ('a', 'n', 1, 1) ON CONFLICT (uuid) DO NOTHING"
                        ),
                        try await db.execute("UPDATE cluster SET updated = \(bind: 2) WHERE name = \(bind: "n")"),
                        try await db.execute("UPDATE cluster SET updated = 3 WHERE uuid = \(bind: "none")"),
                        try await db.execute("DELETE FROM cluster WHERE uuid IN (\(bind: "a"), \(bind: "b"), \(bind: "c"))"),
                    ]
                }
                #expect(counts == [2, 0, 2, 0, 2])
            }
        }
    }

    @Test("pool_max_conns bounds the pool and pool_min_conns connections are opened at start")
    func poolSizeFromURL() async throws {
        try await withDatabase(query: "?pool_max_conns=2&pool_min_conns=2") { database, _, url in
            let name = try #require(URLComponents(string: url)?.path.dropFirst()).description
            let observer = try PostgresDatabase(url: try #require(StoreKind.postgresURL), logger: StoreFixture.logger)
            let opened = try await waitUntil {
                let n = try await observer.read { o in
                    try await o.first("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = \(bind: name)")
                }?.integer("n")
                return n == 2
            }
            await observer.close()
            #expect(opened)
            let pids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await database.read { db in
                            try await db.first("SELECT pg_backend_pid() AS pid FROM pg_sleep(0.05)")?.integer("pid") ?? 0
                        }
                    }
                }
                var all = Set<Int64>()
                for try await p in group { all.insert(p) }
                return all
            }
            #expect(pids.count <= 2 && !pids.isEmpty, "\(pids)")
        }
        for bad in ["?pool_max_conns=0", "?pool_max_conns=x", "?pool_min_conns=-1"] {
            #expect(throws: StoreError.self) {
                _ = try PostgresDatabase(url: "postgres://postgres@127.0.0.1:1/db" + bad, logger: StoreFixture.logger)
            }
        }
    }
}
