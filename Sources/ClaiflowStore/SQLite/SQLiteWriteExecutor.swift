import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one thread that SQLite write transactions run on, as a Swift task executor, and the group
/// commit that coalesces concurrent transactions into one SQLite transaction.
///
/// **One hop per transaction.** `SQLiteDatabase.transaction` runs its body with this executor as
/// the task's preferred executor (SE-0417). Its jobs run on one thread that is inside GRDB's writer
/// access (`DatabasePool.writeWithoutTransaction`), so the body's nonisolated async code and every
/// statement it runs (`SQLiteWriter`) execute synchronously on that thread with the writer
/// connection at hand: the only thread switches are the hop in and the hop out. When no job is
/// left and no transaction is open, the thread leaves the writer access (migrations, checkpoints
/// and `close` can then have it) and sleeps until a job comes.
///
/// **Group commit.** One request's body runs at a time, in its own `SAVEPOINT` inside a shared
/// `BEGIN IMMEDIATE` transaction. A body that throws is rolled back alone (`ROLLBACK TO`) and its
/// error goes to its caller only. A body that succeeds is released into the shared transaction
/// and its caller waits; the transaction commits (one fsync with `synchronous = FULL`) as soon as
/// no job is waiting on the writer (so a lone request is never delayed) or after
/// `maximumBatch` requests, and only then are its requests acknowledged. A failed `COMMIT`, or an
/// error after which SQLite rolled the whole transaction back, fails every request of the batch
/// that was still waiting for its acknowledgement.
final class SQLiteWriteExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: the job queue and `closed` are guarded by `condition`; everything else
    // is only touched on the writer thread (checked by `isCurrent` where it matters).

    /// Most requests one SQLite transaction takes before it commits.
    static let maximumBatch = 64

    /// Transactions committed so far (each one fsync), for diagnostics and tests.
    let commits = Atomic<Int>(0)
    /// Requests waiting for the body that holds the writer, for diagnostics and tests.
    let waiting = Atomic<Int>(0)

    private let pool: DatabasePool
    private let condition = NSCondition()
    /// Jobs enqueued and not yet taken by the thread (guarded by `condition`).
    private var queue: [UnownedJob] = []
    /// Set by `shutDown` (guarded by `condition`).
    private var closed = false
    /// Set when the thread has ended (guarded by `condition`).
    private var exited = false
    private var thread = pthread_t()

    // The writer thread's own state.
    /// Jobs taken from `queue` and not yet run.
    private var taken: [UnownedJob] = []
    private var takenIndex = 0
    /// The writer connection while the thread is inside GRDB's writer access.
    private var connection: Database?
    /// Whether a request's body holds the writer (runs, or is suspended off the thread).
    private var busy = false
    /// Requests waiting for the body that holds the writer to finish.
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var waitersIndex = 0
    /// The open SQLite transaction shared by a batch of requests.
    private var batch: Batch?

    private struct Batch {
        var requests = 0
        var acknowledgements: [CheckedContinuation<Void, any Error>] = []
    }

    init(pool: DatabasePool) throws {
        self.pool = pool
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { context in
                #if canImport(Darwin)
                let executor = Unmanaged<SQLiteWriteExecutor>.fromOpaque(context).takeRetainedValue()
                #else
                guard let context else { return nil }
                let executor = Unmanaged<SQLiteWriteExecutor>.fromOpaque(context).takeRetainedValue()
                #endif
                executor.run()
                return nil
            }, context)
        guard started == 0 else {
            Unmanaged<SQLiteWriteExecutor>.fromOpaque(context).release()
            throw StoreError.configuration("cannot start the SQLite writer thread (error \(started))")
        }
        condition.lock()
        self.thread = thread
        condition.unlock()
    }

    /// Whether the caller runs on the writer thread.
    var isCurrent: Bool {
        pthread_equal(pthread_self(), thread) != 0
    }

    // MARK: - TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if exited {
            condition.unlock()
            // The thread is gone (the database was closed): run the job elsewhere; a statement
            // it tries fails because it is not on the writer thread.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        queue.append(job)
        let wake = queue.count == 1
        condition.unlock()
        if wake { condition.signal() }
    }

    // MARK: - The thread

    private func run() {
        while let first = nextJob(waiting: true, mayExit: true) {
            pool.writeWithoutTransaction { db in
                connection = db
                defer { connection = nil }
                drain(first)
            }
        }
    }

    /// Runs jobs inside the writer access until none is left and no transaction is open;
    /// commits the batch whenever no job is waiting and no body holds the writer.
    private func drain(_ first: UnownedJob) {
        var job: UnownedJob? = first
        while true {
            if let j = job {
                j.runSynchronously(on: asUnownedTaskExecutor())
                job = nextJob(waiting: false, mayExit: false)
            } else if batch != nil, !busy {
                _ = commit()
                job = nextJob(waiting: false, mayExit: false)
            } else if batch != nil || busy {
                // A body is suspended off this thread (or the batch waits for it): keep the
                // writer access and the transaction, and wait for its next job.
                job = nextJob(waiting: true, mayExit: false)
            } else {
                if let db = connection, db.isInsideTransaction {
                    // Never leave the writer access inside a transaction (a failed COMMIT whose
                    // ROLLBACK failed too): the next BEGIN would fail forever.
                    try? Self.run(db, "ROLLBACK")
                }
                return
            }
        }
    }

    /// Runs a transaction-control statement through the connection's statement cache.
    private static func run(_ db: Database, _ sql: String) throws {
        try db.cachedStatement(sql: sql).execute()
    }

    /// The next job; with `waiting`, blocks until there is one (or, with `mayExit`, until the
    /// executor is shut down with nothing left to run: nil).
    private func nextJob(waiting: Bool, mayExit: Bool) -> UnownedJob? {
        if takenIndex < taken.count {
            let job = taken[takenIndex]
            takenIndex += 1
            return job
        }
        taken.removeAll(keepingCapacity: true)
        takenIndex = 0
        condition.lock()
        while queue.isEmpty {
            if !waiting || (mayExit && closed) {
                if mayExit && closed { exited = true }
                condition.unlock()
                return nil
            }
            condition.wait()
        }
        swap(&taken, &queue)
        condition.unlock()
        takenIndex = 1
        return taken[0]
    }

    /// Ends the thread once it has run what is queued and no transaction is open; waits for it.
    func shutDown() {
        condition.lock()
        if closed {
            condition.unlock()
            return
        }
        closed = true
        condition.unlock()
        condition.broadcast()
        if !isCurrent { pthread_join(thread, nil) }
    }

    // MARK: - Requests (on the writer thread)

    /// The writer connection, checked to be used on its thread inside the writer access.
    func database() throws -> Database {
        guard isCurrent, let connection else {
            condition.lock()
            let closed = self.closed
            condition.unlock()
            throw StoreError.database(
                closed ? "the database is closed" : "the SQLite writer was used outside of its transaction's thread")
        }
        return connection
    }

    /// The writer connection for a statement of a request's body: as `database()`, and refused
    /// when SQLite rolled the whole transaction back (SQLITE_FULL, an I/O error), since the
    /// statement would then commit on its own, outside of the batch (GRDB refuses the same way).
    func statementDatabase() throws -> Database {
        let connection = try database()
        guard connection.isInsideTransaction else {
            throw StoreError.database("the transaction was rolled back by SQLite")
        }
        return connection
    }

    /// Runs one request's body in its own savepoint of the shared transaction and returns once
    /// the transaction that holds it has committed. Must run on this executor (the caller sets
    /// it as the task's executor preference).
    func perform<T: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> T, counter: StatementCounter
    ) async throws -> T {
        _ = try database()
        await acquire()
        precondition(isCurrent, "a write transaction resumed off the SQLite writer thread")
        guard let db = connection else {
            release()
            throw StoreError.database("the SQLite writer is closed")
        }
        do {
            if batch == nil {
                try Self.run(db, "BEGIN IMMEDIATE")
                batch = Batch()
            }
            try Self.run(db, "SAVEPOINT claiflow_request")
        } catch {
            release()
            throw SQLiteDatabase.storeError(error)
        }
        batch?.requests += 1
        let result: T
        do {
            result = try await body(SQLiteWriter(executor: self, counter: counter))
            precondition(isCurrent, "a write transaction's body returned off the SQLite writer thread")
            try Self.run(db, "RELEASE SAVEPOINT claiflow_request")
        } catch {
            precondition(isCurrent, "a write transaction's body threw off the SQLite writer thread")
            rollBackRequest(db, cause: error)
            release()
            throw SQLiteDatabase.storeError(error)
        }
        if let batch, batch.requests >= Self.maximumBatch {
            let failure = commit()
            release()
            if let failure { throw failure }
            return result
        }
        try await withCheckedThrowingContinuation { (acknowledgement: CheckedContinuation<Void, any Error>) in
            batch?.acknowledgements.append(acknowledgement)
            release()
        }
        return result
    }

    /// Waits until no other request's body holds the writer, then holds it.
    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        waiting.add(1, ordering: .relaxed)
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the writer to the next waiting request, or frees it.
    private func release() {
        if waitersIndex < waiters.count {
            let next = waiters[waitersIndex]
            waitersIndex += 1
            if waitersIndex == waiters.count {
                waiters.removeAll(keepingCapacity: true)
                waitersIndex = 0
            }
            waiting.subtract(1, ordering: .relaxed)
            next.resume()  // `busy` stays set: the writer passes to `next`.
        } else {
            busy = false
        }
    }

    /// Undoes a failed request's statements; if SQLite has already rolled back the whole
    /// transaction (or the savepoint cannot be undone), the batch fails with it.
    private func rollBackRequest(_ db: Database, cause: any Error) {
        if db.isInsideTransaction {
            do {
                try Self.run(db, "ROLLBACK TO SAVEPOINT claiflow_request")
                try Self.run(db, "RELEASE SAVEPOINT claiflow_request")
                return
            } catch {
                try? Self.run(db, "ROLLBACK")
            }
        }
        guard let failed = batch else { return }
        batch = nil
        let error = StoreError.database("the shared transaction was rolled back: \(SQLiteDatabase.storeError(cause))")
        for acknowledgement in failed.acknowledgements { acknowledgement.resume(throwing: error) }
    }

    /// Commits the open batch and acknowledges its requests (or fails them all); returns the
    /// failure, if any.
    private func commit() -> (any Error)? {
        guard let committing = batch, let db = connection else { return nil }
        batch = nil
        do {
            try Self.run(db, "COMMIT")
            commits.add(1, ordering: .relaxed)
            for acknowledgement in committing.acknowledgements { acknowledgement.resume() }
            return nil
        } catch {
            if db.isInsideTransaction { try? Self.run(db, "ROLLBACK") }
            let failure = SQLiteDatabase.storeError(error)
            for acknowledgement in committing.acknowledgements { acknowledgement.resume(throwing: failure) }
            return failure
        }
    }
}
