import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Synchronization
import Testing

/// Group commit on SQLite (`SQLiteDatabase.transaction`): concurrent transactions share one
/// SQLite transaction, each in its own savepoint, and are acknowledged after the shared commit.
@Suite("SQLite group commit")
struct SQLiteGroupCommitTests {
    struct BodyFailure: Error, Equatable {
        let index: Int
    }

    /// A value shared between tasks.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        var current: Value {
            get { value.withLock { $0 } }
            set { value.withLock { $0 = newValue } }
        }
    }

    /// A new SQLite file with a table `item (id INTEGER PRIMARY KEY, name TEXT UNIQUE)` and a
    /// child table whose foreign key is checked at commit.
    static func withDatabase(_ body: (SQLiteDatabase) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-gc-\(Identifier.generate())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try SQLiteDatabase(path: dir.appendingPathComponent("store.sqlite").path)
        do {
            try await database.transaction { db in
                try await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
                try await db.execute(
                    """
                    CREATE TABLE child (id INTEGER PRIMARY KEY,
                    item_id INTEGER NOT NULL REFERENCES item(id) DEFERRABLE INITIALLY DEFERRED)
                    """)
            }
            try await body(database)
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    }

    static func names(_ database: SQLiteDatabase) async throws -> Set<String> {
        let rows = try await database.read { db in try await db.query("SELECT name FROM item") }
        return Set(try rows.map { try $0.text("name") })
    }

    static func insert(_ db: any SQLExecutor, _ name: String) async throws {
        try await db.execute("INSERT INTO item (name) VALUES (\(bind: name))")
    }

    @Test(
        "many concurrent transactions, some failing: only the failing ones' rows are missing, each error reaches its own caller, and commits are shared"
    )
    func concurrentWithFailures() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let count = 200
            let commitsBefore = database.commitsExecuted
            let outcomes = try await withThrowingTaskGroup(of: (Int, (any Error)?).self) { group in
                for i in 0..<count {
                    group.addTask {
                        do {
                            try await database.transaction { db in
                                try await Self.insert(db, "n\(i)")
                                if i % 7 == 3 { throw BodyFailure(index: i) }
                            }
                            return (i, nil)
                        } catch {
                            return (i, error)
                        }
                    }
                }
                var all: [Int: (any Error)?] = [:]
                for try await (i, error) in group { all[i] = error }
                return all
            }
            for i in 0..<count {
                let error = try #require(outcomes[i])
                if i % 7 == 3 {
                    let failure = error as? BodyFailure
                    #expect(failure == BodyFailure(index: i), "request \(i) got \(String(describing: error))")
                } else {
                    #expect(error == nil, "request \(i) failed: \(String(describing: error))")
                }
            }
            let expected = Set((0..<count).filter { $0 % 7 != 3 }.map { "n\($0)" })
            #expect(try await Self.names(database) == expected)
            let commits = database.commitsExecuted - commitsBefore
            #expect(commits >= 1)
            #expect(commits < count, "\(count) concurrent transactions took \(commits) commits: none was shared")
        }
    }

    @Test("unique violations inside a batch fail their own request only, as StoreError.uniqueViolation")
    func uniqueViolationsInBatch() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            try await database.transaction { db in try await Self.insert(db, "taken") }
            let results = try await withThrowingTaskGroup(of: (Int, (any Error)?).self) { group in
                for i in 0..<60 {
                    group.addTask {
                        do {
                            try await database.transaction { db in
                                try await Self.insert(db, "u\(i)")
                                if i % 3 == 0 { try await Self.insert(db, "taken") }
                            }
                            return (i, nil)
                        } catch {
                            return (i, error)
                        }
                    }
                }
                var all: [Int: (any Error)?] = [:]
                for try await (i, error) in group { all[i] = error }
                return all
            }
            for i in 0..<60 {
                let error = try #require(results[i])
                if i % 3 == 0 {
                    guard case StoreError.uniqueViolation? = error else {
                        Issue.record("request \(i): \(String(describing: error))")
                        continue
                    }
                } else {
                    #expect(error == nil, "request \(i): \(String(describing: error))")
                }
            }
            let expected = Set(["taken"] + (0..<60).filter { $0 % 3 != 0 }.map { "u\($0)" })
            #expect(try await Self.names(database) == expected)
        }
    }

    @Test("a violation caught inside the body leaves the rest of that body's work in place")
    func caughtViolationInsideBody() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            try await database.transaction { db in try await Self.insert(db, "taken") }
            try await database.transaction { db in
                try await Self.insert(db, "before")
                do {
                    try await Self.insert(db, "taken")
                    Issue.record("the duplicate was accepted")
                } catch StoreError.uniqueViolation {}
                try await Self.insert(db, "after")
            }
            #expect(try await Self.names(database) == ["taken", "before", "after"])
        }
    }

    /// Starts transaction B from inside A's body and keeps A's body running until B waits for
    /// the writer, so that A and B are in one batch; `duringB` runs inside B's body.
    static func batchOfTwo(
        _ database: SQLiteDatabase, a: @escaping @Sendable (any SQLExecutor) async throws -> Void,
        b: @escaping @Sendable (any SQLExecutor) async throws -> Void
    ) async -> (a: (any Error)?, b: (any Error)?) {
        let second = Shared<Task<(any Error)?, Never>?>(nil)
        var errorA: (any Error)?
        do {
            try await database.transaction { db in
                try await a(db)
                let task = Task<(any Error)?, Never> {
                    do {
                        try await database.transaction { db in try await b(db) }
                        return nil
                    } catch {
                        return error
                    }
                }
                second.current = task
                let waiting = try await waitUntil(timeout: .seconds(20)) { database.transactionsWaiting == 1 }
                #expect(waiting, "the second transaction never queued behind the first")
            }
        } catch {
            errorA = error
        }
        let errorB = await second.current?.value
        return (errorA, errorB ?? nil)
    }

    @Test("a request is acknowledged only after the shared commit, and its rows are not visible to readers before it")
    func acknowledgedAfterSharedCommit() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let aReturned = Shared(false)
            let commitsBefore = database.commitsExecuted
            let seenByB = Shared<(visible: Set<String>, aReturned: Bool)?>(nil)
            let box = Shared<Task<(any Error)?, Never>?>(nil)
            try await database.transaction { db in
                try await Self.insert(db, "a")
                #expect(try await Self.names(database).isEmpty, "a reader saw the body's row before the commit")
                let b = Task<(any Error)?, Never> {
                    do {
                        try await database.transaction { db in
                            try await Self.insert(db, "b")
                            let visible = try await Self.names(database)
                            seenByB.current = (visible, aReturned.current)
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
                box.current = b
                #expect(try await waitUntil { database.transactionsWaiting == 1 })
            }
            aReturned.current = true
            let errorB: (any Error)? = await box.current?.value ?? nil
            #expect(errorB == nil)
            let seen = try #require(seenByB.current)
            #expect(seen.visible.isEmpty, "B's reader saw \(seen.visible) before the shared commit")
            #expect(!seen.aReturned, "A was acknowledged before the commit that holds it")
            #expect(database.commitsExecuted - commitsBefore == 1, "A and B were not committed together")
            #expect(try await Self.names(database) == ["a", "b"])
        }
    }

    @Test("a failed shared COMMIT fails every request of the batch, and nothing of the batch is kept")
    func failedCommitFailsBatch() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let (errorA, errorB) = await Self.batchOfTwo(
                database,
                a: { db in try await Self.insert(db, "a") },
                b: { db in
                    // Checked at COMMIT only (deferred): the whole shared transaction fails.
                    try await db.execute("INSERT INTO child (item_id) VALUES (424242)")
                })
            #expect(errorA != nil, "A was acknowledged although the commit failed")
            #expect(errorB != nil, "B was acknowledged although the commit failed")
            #expect(try await Self.names(database).isEmpty)
            try await database.transaction { db in try await Self.insert(db, "later") }
            #expect(try await Self.names(database) == ["later"])
        }
    }

    @Test("a failing request in a batch rolls back alone; the one before it in the batch commits")
    func failingRequestInBatch() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let (errorA, errorB) = await Self.batchOfTwo(
                database,
                a: { db in try await Self.insert(db, "a") },
                b: { db in
                    try await Self.insert(db, "b")
                    throw BodyFailure(index: 2)
                })
            #expect(errorA == nil)
            let failureB = errorB as? BodyFailure
            #expect(failureB == BodyFailure(index: 2))
            #expect(try await Self.names(database) == ["a"])
        }
    }

    @Test("a transaction cancelled while its body waits rolls back; the writer and the waiting transactions go on")
    func cancelledTransaction() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let started = AsyncStream<Void>.makeStream()
            let cancelled = Task {
                try await database.transaction { db in
                    try await Self.insert(db, "cancelled")
                    started.continuation.yield()
                    try await Task.sleep(for: .seconds(600))
                }
            }
            for await _ in started.stream { break }
            // Another transaction queues behind the sleeping body.
            let behind = Task { try await database.transaction { db in try await Self.insert(db, "behind") } }
            #expect(try await waitUntil { database.transactionsWaiting == 1 })
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            try await behind.value
            // A task cancelled before it starts still writes (a cancelled loop's last flush).
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await database.transaction { db in try await Self.insert(db, "early") }
            }
            try await early.value
            try await database.transaction { db in try await Self.insert(db, "after") }
            #expect(try await Self.names(database) == ["behind", "early", "after"])
        }
    }

    @Test("the writer used outside of its transaction throws instead of touching the connection")
    func writerOutsideItsThread() async throws {
        try await Self.withDatabase { (database: SQLiteDatabase) async throws in
            let escaped = Shared<(any SQLExecutor)?>(nil)
            try await database.transaction { db in escaped.current = db }
            let writer = try #require(escaped.current)
            await #expect(throws: StoreError.self) { try await Self.insert(writer, "late") }
            #expect(try await Self.names(database).isEmpty)
        }
    }
}
