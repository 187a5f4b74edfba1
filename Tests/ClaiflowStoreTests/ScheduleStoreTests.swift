import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import ClaiflowTestSupport
import Testing

@Suite("Schedules in the store (both stores)")
struct ScheduleStoreTests {
    static func schedule(_ uuid: String, next: Timestamp, paused: Bool = false) throws -> Schedule {
        Schedule(
            uuid: uuid, name: "nightly \(uuid)", summary: nil, cron: try CronSchedule(parsing: "@every 10s"),
            timezone: "Europe/Berlin", run: .object(["name": .string("r")]), concurrencyPolicy: .forbid, paused: paused,
            startingDeadline: .seconds(90), nextTime: next, created: Timestamp(microseconds: 1),
            updated: Timestamp(microseconds: 1))
    }

    @Test("a schedule round-trips, lists with q, changes under a lock and is deleted", arguments: StoreKind.available)
    func roundTrip(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp(microseconds: 1_764_000_000_123_457)
            let s = try Self.schedule("s1", next: t)
            try await store.insertSchedule(s)
            #expect(try await store.schedule(uuid: "s1") == s)
            await #expect(throws: ClaiflowError.self) { try await store.insertSchedule(s) }
            try await store.insertSchedule(try Self.schedule("s2", next: t, paused: true))
            let q = try ListQueryParser(schema: Tables.schedule).parse(q: #"{"eq":{"paused":1}}"#, o: nil, p: nil)
            #expect(try await store.schedules(q).map(\.uuid) == ["s2"])
            let changed = try await store.updateSchedule(uuid: "s1") { $0.name = "renamed" }
            #expect(changed?.name == "renamed")
            #expect(try await store.schedule(uuid: "s1")?.name == "renamed")
            #expect(try await store.updateSchedule(uuid: "nope") { $0.name = "x" } == nil)
            #expect(try await store.deleteSchedule(uuid: "s2"))
            #expect(try await store.deleteSchedule(uuid: "s2") == false)
        }
    }

    @Test(
        "due schedules skip the paused ones; a tick is skipped by exactly one of two concurrent claims",
        arguments: StoreKind.available)
    func dueAndSkip(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp(microseconds: 1_764_000_000_000_000)
            try await store.insertSchedule(try Self.schedule("s1", next: t))
            try await store.insertSchedule(try Self.schedule("s2", next: t, paused: true))
            try await store.insertSchedule(try Self.schedule("s3", next: t.adding(.seconds(60))))
            #expect(try await store.dueSchedules(now: t, limit: 10).map(\.uuid) == ["s1"])
            #expect(try await store.nextScheduleTime() == t)
            let claim = ScheduleTickClaim(schedule: "s1", expected: t, tick: t, next: t.adding(.seconds(10)))
            async let a = store.skipScheduleTick(claim, reason: "why", now: t)
            async let b = store.skipScheduleTick(claim, reason: "why", now: t)
            let results = try await [a, b]
            #expect(results.filter { $0 }.count == 1)
            let s1 = try #require(try await store.schedule(uuid: "s1"))
            #expect(s1.nextTime == t.adding(.seconds(10)) && s1.lastSkipped == t && s1.lastSkipReason == "why")
            #expect(try await store.dueSchedules(now: t, limit: 10).isEmpty)
            #expect(try await store.scheduleRuns(schedule: "s1", limit: 10).isEmpty)
        }
    }

    @Test(
        "a run claims its tick in its own transaction: a second run for the same tick writes nothing",
        arguments: StoreKind.available)
    func claimWithRun(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let t = Timestamp(microseconds: 1_764_000_000_000_000)
            try await store.insertSchedule(try Self.schedule("s1", next: t))
            func creation(_ uuid: String) -> RunCreation {
                let run = Run(
                    uuid: uuid, name: "x", summary: nil, templateUUID: "", selector: nil, strategy: RunStrategy(),
                    webhook: nil, includePaused: false, serviceUUID: "sv-\(uuid)",
                    progress: RunProgress(total: 0, skipped: 0, strategy: RunStrategy()), created: t, updated: t, ended: nil)
                return RunCreation(
                    run: run, clusters: [], services: [], timeoutShift: 0,
                    scheduleTick: ScheduleTickClaim(schedule: "s1", expected: t, tick: t, next: t.adding(.seconds(10))))
            }
            _ = try await store.insertRun(creation("r1"))
            await #expect(throws: ScheduleTickTaken.self) { _ = try await store.insertRun(creation("r2")) }
            #expect(try await store.run(uuid: "r2") == nil)
            let runs = try await store.scheduleRuns(schedule: "s1", limit: 10)
            #expect(runs.map(\.uuid) == ["r1"] && runs.first?.tick == t)
            let s1 = try #require(try await store.schedule(uuid: "s1"))
            #expect(s1.nextTime == t.adding(.seconds(10)) && s1.lastTick == t)
        }
    }

    @Test("a schedule's run body (inputs may be secrets) is sealed at rest like service inputs", arguments: StoreKind.available)
    func sealedAtRest(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            store.useCipher(try SecretBox(base64Key: SecretBox.newKey()))
            var s = try Self.schedule("s1", next: Timestamp(microseconds: 1_764_000_000_000_000))
            s.run = .object(["name": .string("r"), "inputs": .object(["password": .string("hunter2")])])
            try await store.insertSchedule(s)
            func stored() async throws -> String {
                try await store.database.read { db in
                    try await db.first("SELECT run FROM schedule WHERE uuid = 's1'")?.text("run") ?? ""
                }
            }
            #expect(try await stored().hasPrefix("v1:"))
            #expect(try await !stored().contains("hunter2"))
            #expect(try await store.schedule(uuid: "s1") == s)
            _ = try await store.updateSchedule(uuid: "s1") { $0.summary = "changed" }
            #expect(try await stored().hasPrefix("v1:"))
            #expect(try await store.schedules(ListQuery()).first?.run == s.run)
            #expect(try await store.dueSchedules(now: s.nextTime, limit: 1).first?.run == s.run)
        }
    }
}
