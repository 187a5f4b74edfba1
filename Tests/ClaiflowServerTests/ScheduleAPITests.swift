import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Schedules (API and scheduler)")
struct ScheduleAPITests {
    static let runBody = #"{"name":"nightly","flow":\#(RunAPITests.flow),"selector":"region in (eu,us)"}"#

    static func body(cron: String = "@every 10s", run: String = runBody, _ extra: String = "") -> String {
        #"{"uuid":"s1","name":"nightly","cron":"\#(cron)","run":\#(run)\#(extra)}"#
    }

    /// Rows in the schedule and run tables.
    static func rowCounts(_ s: TestServer) async throws -> [Int64] {
        try await s.store.database.read { db in
            var out: [Int64] = []
            for t in ["schedule", "run"] {
                out.append(try await db.first(SQL(stringLiteral: "SELECT COUNT(*) AS n FROM \(t)"))?.integer("n") ?? -1)
            }
            return out
        }
    }

    /// Creates schedule `s1` through the use case as if it were `now` (a day ahead of the real
    /// clock, so that the replicas' own schedulers never reach its ticks during the test).
    static func create(
        _ s: TestServer, policy: ScheduleConcurrencyPolicy = .allow, deadline: GoDuration? = nil, run: String = runBody
    ) async throws -> Schedule {
        let now = Timestamp.now().adding(.seconds(86_400))
        return try await s.app.schedules.create(
            uuid: "s1",
            ScheduleUseCases.Fields(
                name: "nightly", cron: try CronSchedule(parsing: "@every 10s"), run: try JSONValue.parse(run),
                concurrencyPolicy: policy, startingDeadline: .some(deadline)),
            now: now)
    }

    static func strings(_ v: JSONValue?) -> [String] {
        guard case .array(let a) = v else { return [] }
        return a.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    static func lastRuns(_ r: TestServer.Reply) -> [JSONValue] {
        guard case .array(let a) = r.json?.field("last_runs") else { return [] }
        return a
    }

    @Test("create, read, list, pause, resume, change and delete a schedule", arguments: StoreKind.available)
    func crud(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            let created = try await s.request(
                .POST, "/api/v1/schedule",
                json: Self.body(
                    #","timezone":"Europe/Berlin","concurrency_policy":"forbid","starting_deadline":"1m","summary":"s""#))
            #expect(created.status == 200, "\(created.body)")
            #expect(created.string("cron") == "@every 10s" && created.string("timezone") == "Europe/Berlin")
            #expect(created.string("concurrency_policy") == "forbid" && created.string("starting_deadline") == "1m0s")
            #expect(created.json?.field("paused") == .bool(false))
            #expect(created.json?.field("run")?.field("selector") == .string("region in (eu,us)"))
            let next = Self.strings(created.json?.field("next")).compactMap { Timestamp(parsing: $0) }
            #expect(next.count == 3)
            #expect(next.count == 3 && next[1].microseconds - next[0].microseconds == 10_000_000)
            #expect(Self.lastRuns(created).isEmpty)
            let got = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(got.status == 200 && got.string("name") == "nightly" && got.json?.field("last_runs") == .array([]))
            let listed = try await s.request(.GET, TestServer.query("/api/v1/schedule", q: #"{"eq":{"name":"nightly"}}"#))
            #expect(listed.array.count == 1 && listed.array.first?.field("uuid") == .string("s1"))
            #expect(try await s.request(.GET, TestServer.query("/api/v1/schedule", q: #"{"eq":{"paused":1}}"#)).array.isEmpty)

            let paused = try await s.request(.PUT, "/api/v1/schedule/s1", json: #"{"paused":true}"#)
            #expect(paused.status == 200 && paused.json?.field("paused") == .bool(true), "\(paused.body)")
            #expect(paused.json?.field("next") == .array([]))
            let resumed = try await s.request(
                .PUT, "/api/v1/schedule/s1", json: #"{"paused":false,"cron":"0 9 * * *","starting_deadline":""}"#)
            #expect(resumed.status == 200, "\(resumed.body)")
            #expect(resumed.body.contains(#""starting_deadline":null"#), "\(resumed.body)")
            let daily = Self.strings(resumed.json?.field("next"))
            #expect(daily.count == 3)
            // 09:00 in Berlin is 08:00 UTC in December (07:00 in summer).
            #expect(daily.allSatisfy { $0.contains("T08:00:00") || $0.contains("T07:00:00") }, "\(daily)")

            let bad = try await s.request(
                .PUT, "/api/v1/schedule/s1",
                json:
                    #"{"name":"other","run":{"name":"x","flow":\#(RunAPITests.flow),"selector":"region","strategy":{"max_parallel":0}}}"#
            )
            #expect(bad.status == 400 && bad.message.hasPrefix("field \"run.strategy.max_parallel\""), "\(bad.body)")
            #expect(try await s.request(.GET, "/api/v1/schedule/s1").string("name") == "nightly")
            #expect(try await s.request(.PUT, "/api/v1/schedule/s1", json: #"{"timezone":"Nowhere/Town"}"#).status == 400)
            #expect(try await s.request(.PUT, "/api/v1/schedule/nope", json: #"{"paused":true}"#).status == 404)

            #expect(try await s.request(.DELETE, "/api/v1/schedule/s1").status == 200)
            #expect(try await s.request(.GET, "/api/v1/schedule/s1").status == 404)
            #expect(try await s.request(.DELETE, "/api/v1/schedule/s1").status == 404)
        }
    }

    static let flow = RunAPITests.flow
    static let badBodies: [(String, String)] = [
        (#"{"name":"n","cron":"@daily"}"#, "field \"run\": is required"),
        (#"{"name":"n","run":\#(runBody)}"#, "field \"cron\": is required"),
        (#"{"cron":"@daily","run":\#(runBody)}"#, "field \"name\": is required"),
        (body(cron: "0 25 * * *"), "cron: field 2 (hour): 25 is out of range 0-23"),
        (body(cron: "* * *"), "cron: expected 5 fields"),
        (body(cron: "@every 5s"), "cron: @every: the period must be at least 10s, got 5s"),
        (body(#","timezone":"Mars/Olympus""#), "field \"timezone\": \"Mars/Olympus\" is not a known IANA time zone"),
        (body(#","concurrency_policy":"sometimes""#), "field \"concurrency_policy\": must be allow, forbid or replace"),
        (body(#","starting_deadline":"soon""#), "field \"starting_deadline\": must be a duration"),
        (body(#","paused":"yes""#), "field \"paused\": must be a boolean"),
        (body(run: "[]"), "field \"run\": must be an object"),
        (body(run: #"{"flow":\#(flow),"selector":"region"}"#), "field \"run.name\": is required"),
        (
            body(run: #"{"name":"x","template_uuid":"nope","selector":"region"}"#),
            "field \"run.template_uuid\": template \"nope\""
        ),
        (body(run: #"{"name":"x","flow":\#(flow),"selector":"region=mars"}"#), "field \"run.selector\": selects no cluster"),
        (body(run: #"{"name":"x","flow":\#(flow),"selector":"region in (eu"}"#), "run.selector: "),
        (body(run: #"{"name":"x","flow":\#(flow),"cluster_uuids":["c9"]}"#), "field \"run.cluster_uuids\": cluster \"c9\""),
        (
            body(run: #"{"name":"x","flow":\#(flow),"selector":"region","strategy":{"max_failures":"x%"}}"#),
            "field \"run.strategy.max_failures\""
        ),
        (body(run: #"{"uuid":"r1","name":"x","flow":\#(flow),"selector":"region"}"#), "field \"run.uuid\": is not allowed"),
        (
            body(run: #"{"name":"x","flow":\#(flow),"selector":"region","cluster_uuids":["c1"]}"#),
            "field \"run\": give either selector or cluster_uuids"
        ),
    ]

    @Test("bad input is a 400 naming the field, and writes nothing", arguments: StoreKind.available)
    func badInput(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            for (body, message) in Self.badBodies {
                let r = try await s.request(.POST, "/api/v1/schedule", json: body)
                #expect(r.status == 400, "\(body): \(r.body)")
                #expect(r.message.hasPrefix(message), "\(body): \(r.body)")
            }
            #expect(try await Self.rowCounts(s) == [0, 0])
        }
    }

    @Test("roles: a viewer reads schedules, an operator (who may create runs) creates them")
    func roles() async throws {
        try await TestServer.with { s in
            _ = try await RunAPITests.fleet(s, 2)
            let viewer = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"v","role":"viewer"}"#).string("key"))
            let op = try #require(
                try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"o","role":"operator"}"#).string("key"))
            #expect(try await s.request(.POST, "/api/v1/schedule", json: Self.body(), key: viewer).status == 403)
            #expect(try await Self.rowCounts(s) == [0, 0])
            #expect(try await s.request(.POST, "/api/v1/schedule", json: Self.body(), key: op).status == 200)
            #expect(try await s.request(.GET, "/api/v1/schedule/s1", key: viewer).status == 200)
            #expect(try await s.request(.GET, "/api/v1/schedule", key: viewer).status == 200)
            #expect(try await s.request(.PUT, "/api/v1/schedule/s1", json: #"{"paused":true}"#, key: viewer).status == 403)
            #expect(try await s.request(.DELETE, "/api/v1/schedule/s1", key: viewer).status == 403)
            #expect(try await s.request(.DELETE, "/api/v1/schedule/s1", key: op).status == 200)
        }
    }

    @Test(
        "a schedule ticks once per period with two replicas on one PostgreSQL database",
        .enabled(if: StoreKind.available.contains(.postgres)))
    func twoReplicas() async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
        do {
            try await replicas(url)
            try await cleanup()
        } catch {
            try? await cleanup()
            throw error
        }
    }

    func replicas(_ url: String) async throws {
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                _ = try await RunAPITests.fleet(a, 2)
                let schedule = try await Self.create(a)
                var tick = schedule.nextTime
                for period in 0..<6 {
                    // Both replicas step at the same moment, some way into the period.
                    let now = tick.adding(.seconds(Int64(period % 3) * 3))
                    async let ra = a.app.schedules.tick(now: now)
                    async let rb = b.app.schedules.tick(now: now)
                    let (x, y) = try await (ra, rb)
                    #expect(x.started + y.started == 1, "period \(period): \(x) \(y)")
                    #expect(x.skipped + y.skipped == 0)
                    // Stepping again within the period starts nothing.
                    #expect(try await b.app.schedules.tick(now: now).started == 0)
                    #expect(try await a.app.schedules.tick(now: now).started == 0)
                    tick = tick.adding(.seconds(10))
                }
                #expect(try await Self.rowCounts(a) == [1, 6])
                let ticks = try await a.store.database.read { db in
                    try await db.query("SELECT schedule_tick FROM run WHERE schedule_uuid = 's1'").map {
                        try $0.integer("schedule_tick")
                    }
                }
                #expect(Set(ticks).count == 6)
                let detail = try await b.request(.GET, "/api/v1/schedule/s1")
                #expect(Self.lastRuns(detail).count == 6)
                #expect(Self.lastRuns(detail).allSatisfy { $0.field("state") == .string("running") })
                #expect(detail.string("last_tick") == schedule.nextTime.adding(.seconds(50)).rfc3339)
            }
        }
    }

    @Test("forbid skips a tick while the previous run is running; replace cancels it", arguments: StoreKind.available)
    func concurrencyPolicies(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            let schedule = try await Self.create(s, policy: .forbid)
            let t0 = schedule.nextTime
            #expect(try await s.app.schedules.tick(now: t0).started == 1)
            let second = try await s.app.schedules.tick(now: t0.adding(.seconds(10)))
            #expect(second.started == 0 && second.skipped == 1)
            var detail = try await s.request(.GET, "/api/v1/schedule/s1")
            let first = try #require(Self.lastRuns(detail).first?.field("uuid"))
            #expect(Self.lastRuns(detail).count == 1)
            #expect(detail.string("last_skipped") == t0.adding(.seconds(10)).rfc3339)
            #expect(detail.string("last_skip_reason")?.hasSuffix("is still running (concurrency_policy forbid)") == true)

            #expect(try await s.request(.PUT, "/api/v1/schedule/s1", json: #"{"concurrency_policy":"replace"}"#).status == 200)
            #expect(try await s.app.schedules.tick(now: t0.adding(.seconds(20))).started == 1)
            detail = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(Self.lastRuns(detail).count == 2)
            guard case .string(let firstUUID) = first else { return }
            let old = try await s.request(.GET, "/api/v1/run/\(firstUUID)")
            #expect(old.string("state") == "canceled", "\(old.body)")
            #expect(Self.lastRuns(detail).first?.field("state") == .string("running"))

            // allow: a third run starts beside the running one.
            #expect(try await s.request(.PUT, "/api/v1/schedule/s1", json: #"{"concurrency_policy":"allow"}"#).status == 200)
            #expect(try await s.app.schedules.tick(now: t0.adding(.seconds(30))).started == 1)
            detail = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(Self.lastRuns(detail).filter { $0.field("state") == .string("running") }.count == 2)
        }
    }

    @Test(
        "a tick missed by more than starting_deadline is skipped, with the reason visible; the next one runs",
        arguments: StoreKind.available)
    func startingDeadline(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            let schedule = try await Self.create(s, deadline: .seconds(5))
            let t0 = schedule.nextTime
            // The server was "down" from before t0 until t0 + 27 s: the latest tick, t0 + 20 s, is 7 s late.
            let late = try await s.app.schedules.tick(now: t0.adding(.seconds(27)))
            #expect(late.started == 0 && late.skipped == 1)
            let detail = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(detail.string("last_skipped") == t0.adding(.seconds(20)).rfc3339)
            #expect(detail.string("last_skip_reason") == "missed by 7s, more than the starting_deadline of 5s")
            #expect(Self.strings(detail.json?.field("next")).first == t0.adding(.seconds(30)).rfc3339)
            #expect(try await Self.rowCounts(s) == [1, 0])
            #expect(try await s.app.schedules.tick(now: t0.adding(.seconds(33))).started == 1)
            #expect(try await Self.rowCounts(s) == [1, 1])
        }
    }

    @Test("a target that selects no cluster at tick time is recorded as a skipped tick", arguments: StoreKind.available)
    func noCluster(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            _ = try await RunAPITests.fleet(s, 2)
            let schedule = try await Self.create(
                s, run: #"{"name":"x","flow":\#(RunAPITests.flow),"selector":"n=1"}"#)
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"labels":{}}"#).status == 200)
            let r = try await s.app.schedules.tick(now: schedule.nextTime)
            #expect(r.started == 0 && r.skipped == 1)
            let detail = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(detail.string("last_skip_reason") == "no run was created: field \"selector\": selects no cluster")
            #expect(try await Self.rowCounts(s) == [1, 0])
            // Labelled again, the next tick starts its run.
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"labels":{"n":"1"}}"#).status == 200)
            #expect(try await s.app.schedules.tick(now: schedule.nextTime.adding(.seconds(10))).started == 1)
        }
    }

    @Test("end to end: the server's scheduler starts a run at the real tick of an @every 10s schedule")
    func realTick() async throws {
        try await TestServer.with { s in
            _ = try await RunAPITests.fleet(s, 2)
            let created = try await s.request(.POST, "/api/v1/schedule", json: Self.body())
            #expect(created.status == 200, "\(created.body)")
            let next = Self.strings(created.json?.field("next"))
            let first = try #require(next.first)
            var runs: [JSONValue] = []
            let started = try await waitUntil(timeout: .seconds(40)) {
                runs = Self.lastRuns(try await s.request(.GET, "/api/v1/schedule/s1"))
                return !runs.isEmpty
            }
            #expect(started)
            let detail = try await s.request(.GET, "/api/v1/schedule/s1")
            #expect(detail.string("last_tick") == first)
            guard case .string(let run) = runs.first?.field("uuid") else { return }
            let r = try await s.request(.GET, "/api/v1/run/\(run)")
            #expect(r.status == 200 && r.string("name") == "nightly" && RunAPITests.counts(r)["total"] == 2)
        }
    }
}
