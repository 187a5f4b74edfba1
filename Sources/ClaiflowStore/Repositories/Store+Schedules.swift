import ClaiflowCore
import ClaiflowQuery

/// A schedule tick claimed in the transaction that inserts its run (``RunCreation/scheduleTick``):
/// the schedule's `next_time` moves from `expected` to `next` only if it still is `expected`.
public struct ScheduleTickClaim: Sendable, Equatable {
    public var schedule: String
    /// The `next_time` the scheduler read.
    public var expected: Timestamp
    /// The tick the run is for.
    public var tick: Timestamp
    /// The schedule's next tick after this one.
    public var next: Timestamp

    public init(schedule: String, expected: Timestamp, tick: Timestamp, next: Timestamp) {
        self.schedule = schedule
        self.expected = expected
        self.tick = tick
        self.next = next
    }
}

/// Thrown by ``Store/insertRun(_:)`` when the schedule tick was claimed by another replica (or
/// the schedule changed or was deleted) since it was read: nothing was written.
public struct ScheduleTickTaken: Error, Sendable {}

/// One run of a schedule, as a schedule's detail lists it.
public struct ScheduleRunSummary: Sendable, Equatable {
    public var uuid: String
    public var state: RunState
    public var created: Timestamp
    /// The tick it was started for.
    public var tick: Timestamp?
    public var ended: Timestamp?
}

extension Store {
    /// Maps schedule rows, opening run bodies sealed with the cipher (a run body holds inputs,
    /// which may be secrets, as a service's inputs do).
    var scheduleMapper: @Sendable (SQLRow) throws -> Schedule {
        let box = inputsCipher
        return { r in
            var text = try r.text("run")
            if let box, text.hasPrefix("v1:") { text = try box.open(text) }
            return try Store.schedule(r, run: try JSONValue.parse(text))
        }
    }

    /// A run body as stored: sealed when a cipher is set.
    func sealedRun(_ run: JSONValue) throws -> String {
        let text = run.serialized()
        return try inputsCipher?.seal(text) ?? text
    }

    static func schedule(_ r: SQLRow, run: JSONValue) throws -> Schedule {
        guard let policy = ScheduleConcurrencyPolicy(rawValue: try r.text("concurrency_policy")) else {
            throw StoreError.corrupt("unknown schedule concurrency policy")
        }
        let cronText = try r.text("cron")
        let cron: CronSchedule
        do {
            cron = try CronSchedule(parsing: cronText)
        } catch {
            throw StoreError.corrupt("schedule cron: \(error.message)")
        }
        return Schedule(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"), cron: cron,
            timezone: try r.text("timezone"), run: run, concurrencyPolicy: policy,
            paused: try r.integer("paused") != 0,
            startingDeadline: r.optionalInteger("starting_deadline").map { GoDuration(nanoseconds: $0 * 1000) },
            nextTime: try r.timestamp("next_time"), lastTick: r.optionalTimestamp("last_tick"),
            lastSkipped: r.optionalTimestamp("last_skipped"), lastSkipReason: r.optionalText("last_skip_reason"),
            created: try r.timestamp("created"), updated: try r.timestamp("updated"))
    }

    /// Inserts a schedule; 409 when the uuid exists.
    public func insertSchedule(_ s: Schedule) async throws {
        let run = try sealedRun(s.run)
        do {
            try await write(
                "schedule.insert",
                statement: """
                    INSERT INTO schedule (uuid, name, summary, cron, timezone, run, concurrency_policy, paused,
                        starting_deadline, next_time, created, updated)
                    VALUES (\(bind: s.uuid), \(bind: s.name), \(bind: s.summary), \(bind: s.cron.text), \(bind: s.timezone),
                        \(bind: run), \(bind: s.concurrencyPolicy.rawValue), \(bind: s.paused ? 1 : 0),
                        \(bind: s.startingDeadline.map { .integer($0.nanoseconds / 1000) } ?? .null),
                        \(bind: .timestamp(s.nextTime)), \(bind: .timestamp(s.created)), \(bind: .timestamp(s.updated)))
                    """)
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "schedule \"\(s.uuid)\" already exists")
        }
    }

    /// One schedule, or nil.
    public func schedule(uuid: String) async throws -> Schedule? {
        let map = scheduleMapper
        return try await read("schedule.get") { db in
            try await db.first("SELECT * FROM schedule WHERE uuid = \(bind: uuid)").map(map)
        }
    }

    /// Lists schedules, newest first unless the query orders them.
    public func schedules(_ query: ListQuery) async throws -> [Schedule] {
        try await list("schedule.list", table: "schedule", query: query, newestFirst: true, map: scheduleMapper)
    }

    /// Changes a schedule in one transaction (the row locked on PostgreSQL, so that a tick claim
    /// and a change never interleave); `change` gets the current schedule. Nil when it does not exist.
    public func updateSchedule(
        uuid: String, _ change: @escaping @Sendable (inout Schedule) throws -> Void
    ) async throws -> Schedule? {
        let lock = lockClause()
        let map = scheduleMapper
        return try await write("schedule.update") { db in
            guard var s = try await db.first("SELECT * FROM schedule WHERE uuid = \(bind: uuid)\(lock)").map(map)
            else { return nil }
            try change(&s)
            let run = try self.sealedRun(s.run)
            try await db.execute(
                """
                UPDATE schedule SET name = \(bind: s.name), summary = \(bind: s.summary), cron = \(bind: s.cron.text),
                    timezone = \(bind: s.timezone), run = \(bind: run),
                    concurrency_policy = \(bind: s.concurrencyPolicy.rawValue), paused = \(bind: s.paused ? 1 : 0),
                    starting_deadline = \(bind: s.startingDeadline.map { .integer($0.nanoseconds / 1000) } ?? .null),
                    next_time = \(bind: .timestamp(s.nextTime)), updated = \(bind: .timestamp(s.updated))
                WHERE uuid = \(bind: uuid)
                """)
            return s
        }
    }

    /// Deletes a schedule (its runs stay); false when it did not exist.
    public func deleteSchedule(uuid: String) async throws -> Bool {
        try await write("schedule.delete", statement: "DELETE FROM schedule WHERE uuid = \(bind: uuid)") > 0
    }

    /// The schedules not paused whose next tick is at or before `now`, earliest first.
    public func dueSchedules(now: Timestamp, limit: Int) async throws -> [Schedule] {
        let map = scheduleMapper
        return try await read("schedule.due") { db in
            try await db.query(
                """
                SELECT * FROM schedule WHERE paused = 0 AND next_time <= \(bind: .timestamp(now))
                ORDER BY next_time LIMIT \(bind: limit)
                """
            ).map(map)
        }
    }

    /// The earliest next tick of the schedules not paused, or nil when there is none.
    public func nextScheduleTime() async throws -> Timestamp? {
        try await read("schedule.next") { db in
            try await db.first("SELECT MIN(next_time) AS t FROM schedule WHERE paused = 0")?.optionalTimestamp("t")
        }
    }

    /// Records a skipped tick and moves the schedule on, if its `next_time` still is
    /// `claim.expected` (one statement: exactly one replica records it). Returns whether it did.
    @discardableResult
    public func skipScheduleTick(_ claim: ScheduleTickClaim, reason: String, now: Timestamp) async throws -> Bool {
        try await write(
            "schedule.skip",
            statement: """
                UPDATE schedule SET next_time = \(bind: .timestamp(claim.next)), last_skipped = \(bind: .timestamp(claim.tick)),
                    last_skip_reason = \(bind: reason)
                WHERE uuid = \(bind: claim.schedule) AND next_time = \(bind: .timestamp(claim.expected)) AND paused = 0
                """) > 0
    }

    /// Claims a tick for the run being inserted in the same transaction, and links the run to
    /// its schedule; throws ``ScheduleTickTaken`` (rolling the run back) when the tick is gone.
    static func claimTick(_ db: any SQLExecutor, _ claim: ScheduleTickClaim, run: String) async throws {
        let claimed = try await db.execute(
            """
            UPDATE schedule SET next_time = \(bind: .timestamp(claim.next)), last_tick = \(bind: .timestamp(claim.tick))
            WHERE uuid = \(bind: claim.schedule) AND next_time = \(bind: .timestamp(claim.expected)) AND paused = 0
            """)
        guard claimed == 1 else { throw ScheduleTickTaken() }
        try await db.execute(
            """
            UPDATE run SET schedule_uuid = \(bind: claim.schedule), schedule_tick = \(bind: .timestamp(claim.tick))
            WHERE uuid = \(bind: run)
            """)
    }

    /// A schedule's most recent runs, newest first; `unfinishedBefore` keeps only the runs that
    /// have not ended and were started for a tick before it.
    public func scheduleRuns(
        schedule: String, limit: Int, unfinishedBefore: Timestamp? = nil
    ) async throws -> [ScheduleRunSummary] {
        try await read("schedule.runs") { db in
            var sql: SQL = "SELECT * FROM run WHERE schedule_uuid = \(bind: schedule)"
            if let before = unfinishedBefore {
                sql += " AND ended IS NULL AND schedule_tick < \(bind: .timestamp(before))"
            }
            sql += " ORDER BY created DESC, id DESC LIMIT \(bind: limit)"
            return try await db.query(sql).map { row in
                let run = try Self.run(row)
                return ScheduleRunSummary(
                    uuid: run.uuid, state: run.progress.state, created: run.created,
                    tick: row.optionalTimestamp("schedule_tick"), ended: run.ended)
            }
        }
    }
}
