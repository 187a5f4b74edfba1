import Foundation

/// When a schedule ticks: a 5-field cron expression (`minute hour day-of-month month
/// day-of-week`, with ranges, lists, steps and the names `JAN`–`DEC`, `SUN`–`SAT`), one of the
/// macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, or
/// `@every DURATION` (Go duration syntax, at least ``minimumEvery``).
///
/// Semantics are those of standard (Vixie) cron: when both day fields are restricted (neither
/// starts with `*`), a day matches when **either** matches; otherwise both must. Times are wall
/// times of a time zone: a wall time that does not exist (the hour skipped when clocks go
/// forward) is skipped, one that happens twice (clocks go back) fires once. `@every` is a plain
/// period, unaffected by the time zone.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The shortest `@every` period.
    public static let minimumEvery = GoDuration.seconds(10)

    /// How the expression ticks.
    public enum Kind: Sendable, Hashable {
        /// Five fields, in expression order.
        case fields(minute: CronField, hour: CronField, dayOfMonth: CronField, month: CronField, dayOfWeek: CronField)
        /// A fixed period.
        case every(GoDuration)
    }

    /// The expression as written.
    public let text: String
    public let kind: Kind

    public var description: String { text }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses an expression; errors name the field and the part that is wrong
    /// (`cron: field 2 (hour): 25 is out of range 0-23`).
    public init(parsing text: String) throws(ClaiflowError) {
        self.text = text
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("@") {
            let words = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            let name = words[0].lowercased()
            if name == "@every" {
                guard words.count == 2 else {
                    throw ClaiflowError(.invalidArgument, "cron: @every needs one duration, like \"@every 5m\"")
                }
                guard let d = GoDuration(parsing: String(words[1])) else {
                    throw ClaiflowError(
                        .invalidArgument, "cron: @every: \"\(words[1])\" is not a duration like \"90s\", \"5m\" or \"1h30m\"")
                }
                guard d >= Self.minimumEvery else {
                    throw ClaiflowError(
                        .invalidArgument, "cron: @every: the period must be at least \(Self.minimumEvery), got \(words[1])")
                }
                kind = .every(d)
                return
            }
            guard let expansion = Self.macros[name], words.count == 1 else {
                throw ClaiflowError(
                    .invalidArgument,
                    "cron: unknown macro \"\(words[0])\" (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION)"
                )
            }
            kind = try Self.fields(expansion)
            return
        }
        kind = try Self.fields(trimmed)
    }

    private static func fields(_ text: String) throws(ClaiflowError) -> Kind {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ClaiflowError(
                .invalidArgument,
                "cron: expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, got \(parts.count)")
        }
        let k = CronField.Kind.all
        let minute = try CronField(parsing: parts[0], kind: k[0])
        let hour = try CronField(parsing: parts[1], kind: k[1])
        let dom = try CronField(parsing: parts[2], kind: k[2])
        let month = try CronField(parsing: parts[3], kind: k[3])
        let dow = try CronField(parsing: parts[4], kind: k[4])
        // A day of month that no chosen month has (`30 2`) would never fire.
        if dow.isStar, !dom.isStar {
            let longest = (1...12).filter(month.matches).map { Int(Timestamp.daysInMonth(2000, Int64($0))) }.max() ?? 31
            guard (1...longest).contains(where: dom.matches) else {
                throw ClaiflowError(
                    .invalidArgument, "cron: field 3 (day-of-month): \"\(parts[2])\" never occurs in the months \"\(parts[3])\"")
            }
        }
        return .fields(minute: minute, hour: hour, dayOfMonth: dom, month: month, dayOfWeek: dow)
    }

    /// The first tick strictly after `t`, or nil when there is none within five years.
    public func next(after t: Timestamp, in zone: TimeZone) -> Timestamp? {
        switch kind {
        case .every(let d):
            return t.adding(d)
        case .fields(let minute, let hour, let dom, let month, let dow):
            let after = t.unixSeconds
            var w = WallTime(seconds: after + Int64(zone.secondsFromGMT(for: Self.date(after))))
            w.startNextMinute()
            let lastYear = w.year + 5
            while w.year <= lastYear {
                if !month.matches(w.month) {
                    w.startNextMonth()
                    continue
                }
                let dayMatches: Bool
                if dom.isStar || dow.isStar {
                    dayMatches = dom.matches(w.day) && dow.matches(w.weekday)
                } else {
                    dayMatches = dom.matches(w.day) || dow.matches(w.weekday)
                }
                if !dayMatches {
                    w.startNextDay()
                    continue
                }
                if !hour.matches(w.hour) {
                    w.startNextHour()
                    continue
                }
                if !minute.matches(w.minute) {
                    w.startNextMinute()
                    continue
                }
                if let instant = Self.instants(of: w.seconds, in: zone).first(where: { $0 > after }) {
                    return Timestamp(microseconds: instant * 1_000_000)
                }
                w.startNextMinute()
            }
            return nil
        }
    }

    /// The next `count` ticks after `t`.
    public func next(_ count: Int, after t: Timestamp, in zone: TimeZone) -> [Timestamp] {
        var out: [Timestamp] = []
        var from = t
        while out.count < count, let n = next(after: from, in: zone) {
            out.append(n)
            from = n
        }
        return out
    }

    /// The instants (Unix seconds, ascending) at which the wall clock of `zone` shows `wall`
    /// (seconds since 1970-01-01T00:00 as a wall time): none in a gap, two in an overlap.
    static func instants(of wall: Int64, in zone: TimeZone) -> [Int64] {
        var offsets: [Int64] = []
        for probe in [wall - 43_200, wall + 43_200] {
            let o = Int64(zone.secondsFromGMT(for: date(probe)))
            if !offsets.contains(o) { offsets.append(o) }
        }
        return offsets.map { wall - $0 }.filter { Int64(zone.secondsFromGMT(for: date($0))) == wall - $0 }.sorted()
    }

    static func date(_ unixSeconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(unixSeconds)) }
}
