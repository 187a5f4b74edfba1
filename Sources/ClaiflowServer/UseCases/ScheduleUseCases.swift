import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Foundation
import Logging

/// The schedule use cases: create, read, list, change and delete schedules, and ``tick(now:)``,
/// the scheduler's step, which starts one run per due tick (exactly one across replicas: the
/// tick is claimed in the transaction that inserts its run).
public struct ScheduleUseCases: Sendable {
    private let store: Store
    private let runs: RunUseCases
    /// Reads a run body into a run create request (the same reading as `POST /api/v1/run`).
    private let readRun: @Sendable (JSONValue) throws -> RunUseCases.CreateRun
    /// Called after a schedule was created or changed (wakes this replica's scheduler).
    private let changed: @Sendable () -> Void
    private let logger: Logger

    init(
        store: Store, runs: RunUseCases, readRun: @escaping @Sendable (JSONValue) throws -> RunUseCases.CreateRun,
        logger: Logger, changed: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.runs = runs
        self.readRun = readRun
        self.changed = changed
        self.logger = logger
    }

    /// How many runs a schedule's detail lists.
    public static let lastRunsShown = 10

    /// What a create or change request gives; nil keeps (change) or takes the default (create).
    public struct Fields: Sendable {
        public var name: String?
        public var summary: String?
        public var cron: CronSchedule?
        public var timezone: String?
        public var run: JSONValue?
        public var concurrencyPolicy: ScheduleConcurrencyPolicy?
        public var paused: Bool?
        /// `.some(nil)` removes the deadline.
        public var startingDeadline: GoDuration??

        public init(
            name: String? = nil, summary: String? = nil, cron: CronSchedule? = nil, timezone: String? = nil,
            run: JSONValue? = nil, concurrencyPolicy: ScheduleConcurrencyPolicy? = nil, paused: Bool? = nil,
            startingDeadline: GoDuration?? = nil
        ) {
            self.name = name
            self.summary = summary
            self.cron = cron
            self.timezone = timezone
            self.run = run
            self.concurrencyPolicy = concurrencyPolicy
            self.paused = paused
            self.startingDeadline = startingDeadline
        }
    }

    /// Creates a schedule. Its run body is checked exactly as `POST /api/v1/run` checks it
    /// (errors name `run.<field>`); nothing is written when anything is wrong.
    public func create(uuid: String?, _ f: Fields, now: Timestamp = .now()) async throws -> Schedule {
        guard let name = f.name else { throw ClaiflowError.invalidField("name", "is required") }
        guard let cron = f.cron else { throw ClaiflowError.invalidField("cron", "is required") }
        guard let run = f.run else { throw ClaiflowError.invalidField("run", "is required") }
        let timezone = f.timezone ?? "UTC"
        let zone = try Schedule.timeZone(named: timezone)
        try await check(run: run)
        let s = Schedule(
            uuid: uuid ?? Identifier.generate(), name: name, summary: f.summary, cron: cron, timezone: timezone, run: run,
            concurrencyPolicy: f.concurrencyPolicy ?? .allow, paused: f.paused ?? false,
            startingDeadline: f.startingDeadline ?? nil, nextTime: try Self.first(cron, after: now, in: zone), created: now,
            updated: now)
        try await store.insertSchedule(s)
        changed()
        return s
    }

    /// Changes a schedule. A new `cron` or `timezone`, or resuming it, starts its ticks afresh
    /// from now (ticks missed while paused are not made up).
    public func update(uuid: String, _ f: Fields, now: Timestamp = .now()) async throws -> Schedule {
        if let tz = f.timezone { _ = try Schedule.timeZone(named: tz) }
        if let run = f.run { try await check(run: run) }
        let updated = try await store.updateSchedule(uuid: uuid) { s in
            let restart = f.cron != nil || f.timezone != nil || (s.paused && f.paused == false)
            if let v = f.name { s.name = v }
            if let v = f.summary { s.summary = v }
            if let v = f.cron { s.cron = v }
            if let v = f.timezone { s.timezone = v }
            if let v = f.run { s.run = v }
            if let v = f.concurrencyPolicy { s.concurrencyPolicy = v }
            if let v = f.paused { s.paused = v }
            if let v = f.startingDeadline { s.startingDeadline = v }
            if restart { s.nextTime = try Self.first(s.cron, after: now, in: s.zone) }
            s.updated = now
        }
        guard let updated else { throw ClaiflowError.notFound("schedule", uuid) }
        changed()
        return updated
    }

    /// One schedule with its most recent runs, newest first.
    public func detail(uuid: String) async throws -> (Schedule, [ScheduleRunSummary]) {
        guard let s = try await store.schedule(uuid: uuid) else { throw ClaiflowError.notFound("schedule", uuid) }
        return (s, try await store.scheduleRuns(schedule: uuid, limit: Self.lastRunsShown))
    }

    /// The schedules a list query selects.
    public func list(_ query: ListQuery) async throws -> [Schedule] { try await store.schedules(query) }

    /// Deletes a schedule; the runs it started stay.
    public func delete(uuid: String) async throws {
        guard try await store.deleteSchedule(uuid: uuid) else { throw ClaiflowError.notFound("schedule", uuid) }
        changed()
    }

    static func first(_ cron: CronSchedule, after now: Timestamp, in zone: TimeZone) throws(ClaiflowError) -> Timestamp {
        guard let t = cron.next(after: now, in: zone) else {
            throw ClaiflowError.invalidField("cron", "\"\(cron.text)\" has no tick in the next five years")
        }
        return t
    }

    /// Checks a run body as `POST /api/v1/run` would (target, template, inputs, strategy, …)
    /// without writing anything; errors name `run.<field>`.
    func check(run body: JSONValue) async throws {
        guard case .object = body else { throw ClaiflowError.invalidField("run", "must be an object, got \(body.typeName)") }
        if body.field("uuid") != nil {
            throw ClaiflowError.invalidField("run.uuid", "is not allowed: every run of a schedule gets a new uuid")
        }
        do {
            _ = try await runs.prepare(try readRun(body))
        } catch let e as ClaiflowError where e.kind == .invalidArgument || e.kind == .notFound {
            throw ClaiflowError(.invalidArgument, Self.underRun(e.message))
        }
    }

    /// A run body error with its field under `run`: `field "run.inputs": …`, `run.selector: …`.
    static func underRun(_ message: String) -> String {
        if message.hasPrefix("field \"") { return "field \"run." + message.dropFirst("field \"".count) }
        if let colon = message.firstIndex(of: ":"),
            message[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }), colon > message.startIndex
        {
            return "run." + message
        }
        return "field \"run\": " + message
    }

    /// What one scheduler step did.
    public struct TickReport: Sendable, Equatable {
        /// Runs started.
        public var started = 0
        /// Ticks skipped (recorded on their schedule with the reason).
        public var skipped = 0
        /// Ticks another replica handled first.
        public var lost = 0
        /// The earliest next tick of the schedules not paused, after this step.
        public var next: Timestamp?
    }

    /// The scheduler's step at `now`: for each due schedule, its latest due tick either starts
    /// one run (claimed with the run's insert, so that several replicas start it once) or is
    /// skipped with the reason recorded: late by more than `starting_deadline`, the previous
    /// run still running under `forbid`, or no run could be created (its target selects no
    /// cluster, its template is gone, …). Under `replace` the previous run is canceled first.
    public func tick(now: Timestamp = .now()) async throws -> TickReport {
        var report = TickReport()
        for s in try await store.dueSchedules(now: now, limit: 100) {
            do {
                try await handle(s, now: now, report: &report)
            } catch {
                logger.warning(
                    "schedule tick failed; retried at the next step",
                    metadata: ["schedule_uuid": .string(s.uuid), "error": .string("\(error)")])
            }
        }
        report.next = try await store.nextScheduleTime()
        return report
    }

    private func handle(_ s: Schedule, now: Timestamp, report: inout TickReport) async throws {
        guard
            let decision = ScheduleTickRule.decide(
                nextTime: s.nextTime, now: now, cron: s.cron, zone: s.zone, startingDeadline: s.startingDeadline)
        else { return }
        func skip(_ tick: Timestamp, _ next: Timestamp, _ reason: String) async throws {
            let claim = ScheduleTickClaim(schedule: s.uuid, expected: s.nextTime, tick: tick, next: next)
            if try await store.skipScheduleTick(claim, reason: reason, now: now) {
                report.skipped += 1
                logger.notice(
                    "schedule tick skipped",
                    metadata: ["schedule_uuid": .string(s.uuid), "tick": .string(tick.rfc3339), "reason": .string(reason)])
            } else {
                report.lost += 1
            }
        }
        switch decision {
        case .exhausted(let tick):
            try await skip(tick, tick.adding(.seconds(366 * 86_400)), "the cron expression has no further tick")
        case .skip(let tick, let reason, let next):
            try await skip(tick, next, reason)
        case .start(let tick, let next):
            let running = try await store.scheduleRuns(schedule: s.uuid, limit: 100, unfinishedBefore: tick)
            if let previous = running.first {
                switch s.concurrencyPolicy {
                case .allow: break
                case .forbid:
                    try await skip(
                        tick, next, "run \"\(previous.uuid)\" of an earlier tick is still running (concurrency_policy forbid)")
                    return
                case .replace:
                    for r in running {
                        do {
                            _ = try await runs.cancel(uuid: r.uuid)
                        } catch let e as ClaiflowError where e.kind == .conflict || e.kind == .notFound {
                            continue  // it ended meanwhile
                        }
                    }
                }
            }
            let claim = ScheduleTickClaim(schedule: s.uuid, expected: s.nextTime, tick: tick, next: next)
            do {
                var creation = try await runs.prepare(try readRun(s.run))
                creation.scheduleTick = claim
                try await runs.commit(creation)
                report.started += 1
                logger.notice(
                    "schedule started a run",
                    metadata: [
                        "schedule_uuid": .string(s.uuid), "tick": .string(tick.rfc3339),
                        "run_uuid": .string(creation.run.uuid),
                    ])
            } catch is ScheduleTickTaken {
                report.lost += 1
            } catch let e as ClaiflowError where e.kind != .internal && e.kind != .unavailable {
                try await skip(tick, next, "no run was created: \(e.message)")
            }
        }
    }
}
