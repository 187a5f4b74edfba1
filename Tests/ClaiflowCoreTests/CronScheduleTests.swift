import ClaiflowCore
import Foundation
import Testing

@Suite("Cron schedules: parsing, next times, time zones and DST, the tick rule")
struct CronScheduleTests {
    func t(_ s: String) -> Timestamp { Timestamp(parsing: s)! }
    func zone(_ name: String) -> TimeZone { TimeZone(identifier: name)! }
    func next(_ cron: String, after: String, in z: String = "UTC", count: Int = 1) throws -> [String] {
        try CronSchedule(parsing: cron).next(count, after: t(after), in: zone(z)).map(\.rfc3339)
    }

    @Test("fields: values, ranges, lists, steps and names")
    func fields() throws {
        let f = try CronField(parsing: "1,5-7,20-30/5,*/25", kind: .minute)
        #expect((0...59).filter(f.matches) == [0, 1, 5, 6, 7, 20, 25, 30, 50])
        #expect(!f.isStar)
        let m = try CronField(parsing: "jan-MAR,Dec", kind: .month)
        #expect((1...12).filter(m.matches) == [1, 2, 3, 12])
        let d = try CronField(parsing: "MON-FRI", kind: .dayOfWeek)
        #expect((0...6).filter(d.matches) == [1, 2, 3, 4, 5])
        let sunday = try CronField(parsing: "7", kind: .dayOfWeek)
        #expect((0...6).filter(sunday.matches) == [0])
        let from = try CronField(parsing: "10/20", kind: .minute)
        #expect((0...59).filter(from.matches) == [10, 30, 50])
        #expect(try CronField(parsing: "*/2", kind: .dayOfMonth).isStar)
    }

    @Test(
        "bad expressions name the field and the part that is wrong",
        arguments: [
            ("0 25 * * *", "cron: field 2 (hour): 25 is out of range 0-23"),
            ("60 * * * *", "cron: field 1 (minute): 60 is out of range 0-59"),
            ("* * 0 * *", "cron: field 3 (day-of-month): 0 is out of range 1-31"),
            ("* * * 13 *", "cron: field 4 (month): 13 is out of range 1-12"),
            ("* * * * 8", "cron: field 5 (day-of-week): 8 is out of range 0-7"),
            ("* * * FOO *", "cron: field 4 (month): \"FOO\" is not a number or a name (JAN…DEC)"),
            ("x * * * *", "cron: field 1 (minute): \"x\" is not a number"),
            ("*/0 * * * *", "cron: field 1 (minute): step 0 in \"*/0\" is out of range 1-59"),
            ("30-10 * * * *", "cron: field 1 (minute): range 30-10 runs backwards"),
            ("1,,2 * * * *", "cron: field 1 (minute): empty item in \"1,,2\""),
            ("1/2/3 * * * *", "cron: field 1 (minute): \"1/2/3\" has more than one '/'"),
            ("* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, got 4"),
            ("* * * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, got 6"),
            ("0 0 30 2 *", "cron: field 3 (day-of-month): \"30\" never occurs in the months \"2\""),
            ("@every 5s", "cron: @every: the period must be at least 10s, got 5s"),
            ("@every soon", "cron: @every: \"soon\" is not a duration like \"90s\", \"5m\" or \"1h30m\""),
            ("@every", "cron: @every needs one duration, like \"@every 5m\""),
            ("@fortnightly", "cron: unknown macro \"@fortnightly\""),
        ])
    func errors(_ text: String, _ message: String) {
        #expect {
            _ = try CronSchedule(parsing: text)
        } throws: { e in
            guard let e = e as? ClaiflowError else { return false }
            return e.kind == .invalidArgument && e.message.hasPrefix(message)
        }
    }

    @Test("next times in UTC: weekdays, steps, month ends, leap days, macros")
    func nextUTC() throws {
        #expect(
            try next("0 9 * * MON-FRI", after: "2026-12-04T10:00:00.000000Z", count: 2) == [
                "2026-12-07T09:00:00.000000Z", "2026-12-08T09:00:00.000000Z",
            ])
        #expect(
            try next("*/15 * * * *", after: "2026-12-06T16:52:10.000000Z", count: 3) == [
                "2026-12-06T17:00:00.000000Z", "2026-12-06T17:15:00.000000Z", "2026-12-06T17:30:00.000000Z",
            ])
        #expect(try next("0 0 31 * *", after: "2026-04-01T00:00:00.000000Z") == ["2026-05-31T00:00:00.000000Z"])
        #expect(try next("0 12 29 2 *", after: "2026-03-01T00:00:00.000000Z") == ["2028-02-29T12:00:00.000000Z"])
        #expect(try next("@hourly", after: "2026-12-06T16:00:00.000000Z") == ["2026-12-06T17:00:00.000000Z"])
        #expect(try next("@daily", after: "2026-12-06T16:00:00.000000Z") == ["2026-12-07T00:00:00.000000Z"])
        #expect(try next("@weekly", after: "2026-12-06T16:00:00.000000Z") == ["2026-12-13T00:00:00.000000Z"])
        #expect(try next("@monthly", after: "2026-12-06T16:00:00.000000Z") == ["2027-01-01T00:00:00.000000Z"])
        #expect(try next("@yearly", after: "2026-12-06T16:00:00.000000Z") == ["2027-01-01T00:00:00.000000Z"])
        #expect(try next("@annually", after: "2026-12-06T16:00:00.000000Z") == ["2027-01-01T00:00:00.000000Z"])
        #expect(try next("@midnight", after: "2026-12-06T16:00:00.000000Z") == ["2026-12-07T00:00:00.000000Z"])
        #expect(
            try next("@every 1m30s", after: "2026-12-06T16:00:00.000000Z", in: "Europe/Berlin", count: 2) == [
                "2026-12-06T16:01:30.000000Z", "2026-12-06T16:03:00.000000Z",
            ])
    }

    @Test("both day fields restricted: either matches; one of them '*': both must")
    func dayFields() throws {
        // The 13th of the month or any Friday.
        #expect(
            try next("0 0 13 * FRI", after: "2026-11-01T00:00:00.000000Z", count: 3) == [
                "2026-11-06T00:00:00.000000Z", "2026-11-13T00:00:00.000000Z", "2026-11-20T00:00:00.000000Z",
            ])
        #expect(
            try next("0 0 10 * 1", after: "2026-11-01T00:00:00.000000Z", count: 2) == [
                "2026-11-02T00:00:00.000000Z", "2026-11-09T00:00:00.000000Z",
            ])
        // `*/2` counts as '*': odd days that are Mondays (not 11-01, a Sunday, nor Monday 11-02, an even day).
        #expect(try next("0 0 */2 * MON", after: "2026-11-01T00:00:00.000000Z") == ["2026-11-09T00:00:00.000000Z"])
    }

    @Test("a time zone's wall time: Europe/Berlin in winter and summer")
    func zones() throws {
        #expect(
            try next("0 9 * * *", after: "2026-12-06T00:00:00.000000Z", in: "Europe/Berlin") == ["2026-12-06T08:00:00.000000Z"])
        #expect(
            try next("0 9 * * *", after: "2026-07-06T00:00:00.000000Z", in: "Europe/Berlin") == ["2026-07-06T07:00:00.000000Z"])
        #expect(
            try next("0 9 * * *", after: "2026-12-06T00:00:00.000000Z", in: "America/New_York") == ["2026-12-06T14:00:00.000000Z"]
        )
    }

    @Test("DST in Europe/Berlin: 02:30 on the day clocks go forward is skipped, on the day they go back it fires once")
    func berlinDST() throws {
        // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 does not exist that day.
        #expect(
            try next("30 2 * * *", after: "2026-03-28T01:30:00.000000Z", in: "Europe/Berlin", count: 2) == [
                "2026-03-30T00:30:00.000000Z", "2026-03-31T00:30:00.000000Z",
            ])
        // Every 30 minutes that night: 01:00, 01:30 CET, then 03:00 CEST.
        #expect(
            try next("*/30 * * * *", after: "2026-03-29T00:00:00.000000Z", in: "Europe/Berlin", count: 3) == [
                "2026-03-29T00:30:00.000000Z", "2026-03-29T01:00:00.000000Z", "2026-03-29T01:30:00.000000Z",
            ])
        // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice and fires at the first only.
        #expect(
            try next("30 2 * * *", after: "2026-10-24T00:30:00.000000Z", in: "Europe/Berlin", count: 3) == [
                "2026-10-25T00:30:00.000000Z", "2026-10-26T01:30:00.000000Z", "2026-10-27T01:30:00.000000Z",
            ])
    }

    @Test("DST in America/New_York: the skipped hour and the repeated hour")
    func newYorkDST() throws {
        // 2026-03-08 02:00 EST → 03:00 EDT: hourly goes 01:00 EST, 03:00 EDT.
        #expect(
            try next("0 * * * *", after: "2026-03-08T05:30:00.000000Z", in: "America/New_York", count: 2) == [
                "2026-03-08T06:00:00.000000Z", "2026-03-08T07:00:00.000000Z",
            ])
        #expect(
            try next("30 2 * * *", after: "2026-03-07T12:00:00.000000Z", in: "America/New_York", count: 2) == [
                "2026-03-09T06:30:00.000000Z", "2026-03-10T06:30:00.000000Z",
            ])
        // 2026-11-01 02:00 EDT → 01:00 EST: 01:00–01:59 happens twice and fires once.
        #expect(
            try next("*/30 1 * * *", after: "2026-11-01T04:00:00.000000Z", in: "America/New_York", count: 3) == [
                "2026-11-01T05:00:00.000000Z", "2026-11-01T05:30:00.000000Z", "2026-11-02T06:00:00.000000Z",
            ])
        // Created during the second 01:xx: its 01:45 is still ahead, and fires then.
        #expect(
            try next("45 1 * * *", after: "2026-11-01T06:10:00.000000Z", in: "America/New_York") == [
                "2026-11-01T06:45:00.000000Z"
            ])
    }

    @Test("unknown time zones are a 400 naming timezone")
    func unknownZone() throws {
        #expect(throws: ClaiflowError.self) { try Schedule.timeZone(named: "Mars/Olympus_Mons") }
        #expect(throws: ClaiflowError.self) { try Schedule.timeZone(named: "") }
        #expect(try Schedule.timeZone(named: "Europe/Berlin").identifier == "Europe/Berlin")
        do {
            _ = try Schedule.timeZone(named: "Nowhere/Town")
        } catch {
            #expect(error.message.hasPrefix("field \"timezone\": \"Nowhere/Town\" is not a known IANA time zone"))
        }
    }

    @Test("the tick rule: not due, due, missed ticks collapse to the latest, starting_deadline")
    func tickRule() throws {
        let every = try CronSchedule(parsing: "@every 10s")
        let utc = zone("UTC")
        let base = t("2026-12-06T12:00:00.000000Z")
        #expect(
            ScheduleTickRule.decide(
                nextTime: base, now: t("2026-12-06T11:59:59.000000Z"), cron: every, zone: utc, startingDeadline: nil) == nil)
        #expect(
            ScheduleTickRule.decide(nextTime: base, now: base, cron: every, zone: utc, startingDeadline: nil)
                == .start(tick: base, next: t("2026-12-06T12:00:10.000000Z")))
        // Down for 35 s: the latest tick (12:00:30) counts, 5 s late.
        let now = t("2026-12-06T12:00:35.000000Z")
        #expect(
            ScheduleTickRule.decide(nextTime: base, now: now, cron: every, zone: utc, startingDeadline: .seconds(10))
                == .start(tick: t("2026-12-06T12:00:30.000000Z"), next: t("2026-12-06T12:00:40.000000Z")))
        #expect(
            ScheduleTickRule.decide(nextTime: base, now: now, cron: every, zone: utc, startingDeadline: .seconds(3))
                == .skip(
                    tick: t("2026-12-06T12:00:30.000000Z"), reason: "missed by 5s, more than the starting_deadline of 3s",
                    next: t("2026-12-06T12:00:40.000000Z")))
        let hourly = try CronSchedule(parsing: "0 * * * *")
        #expect(
            ScheduleTickRule.decide(
                nextTime: base, now: t("2026-12-06T15:20:00.000000Z"), cron: hourly, zone: utc, startingDeadline: .seconds(1800))
                == .start(tick: t("2026-12-06T15:00:00.000000Z"), next: t("2026-12-06T16:00:00.000000Z")))
        #expect(
            ScheduleTickRule.decide(
                nextTime: base, now: t("2026-12-06T15:40:00.000000Z"), cron: hourly, zone: utc, startingDeadline: .seconds(1800))
                == .skip(
                    tick: t("2026-12-06T15:00:00.000000Z"), reason: "missed by 40m0s, more than the starting_deadline of 30m0s",
                    next: t("2026-12-06T16:00:00.000000Z")))
    }
}
