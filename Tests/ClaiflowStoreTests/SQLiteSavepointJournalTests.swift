import ClaiflowCore
import ClaiflowStore
import Testing

/// The writer keeps the journal of its savepoints (one per transaction of a group commit) in
/// memory rather than spilling it to a temporary file; rolling a savepoint back works as before,
/// however large the batch.
@Suite("SQLite savepoint journal in memory")
struct SQLiteSavepointJournalTests {
    struct Refused: Error {}

    @Test("the writer's temporaries are in memory, the readers' keep the default")
    func pragma() async throws {
        try await SQLiteGroupCommitTests.withDatabase { database in
            let writer = try await database.transaction { db in try await db.query("PRAGMA temp_store") }
            let reader = try await database.read { db in try await db.query("PRAGMA temp_store") }
            #expect(try writer.first?.integer("temp_store") == 2)
            #expect(try reader.first?.integer("temp_store") == 0)
        }
    }

    @Test("in a batch whose journal is far past 64 KiB, a failing transaction rolls back alone")
    func largeBatchRollback() async throws {
        try await SQLiteGroupCommitTests.withDatabase { database in
            let padding = String(repeating: "x", count: 20_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        do {
                            try await database.transaction { db in
                                try await SQLiteGroupCommitTests.insert(db, "item-\(i)-" + padding)
                                if i % 6 == 5 { throw Refused() }
                            }
                        } catch is Refused {}
                    }
                }
                try await group.waitForAll()
            }
            let names = try await SQLiteGroupCommitTests.names(database)
            let expected = Set((0..<24).filter { $0 % 6 != 5 }.map { "item-\($0)-" + padding })
            #expect(names == expected)
        }
    }
}
