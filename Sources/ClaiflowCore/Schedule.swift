import Foundation

/// A schedule: a run body (as `POST /api/v1/run` takes it) started at every tick of a cron
/// expression in a time zone.
public struct Schedule: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    public var cron: CronSchedule
    /// An IANA time zone name (`Europe/Berlin`), `UTC` by default.
    public var timezone: String
    /// The run body, as given (without `uuid`: every tick's run gets a new one).
    public var run: JSONValue
    public var concurrencyPolicy: ScheduleConcurrencyPolicy
    public var paused: Bool
    /// A tick missed by more than this (the server was down, …) is skipped; nil: never.
    public var startingDeadline: GoDuration?
    /// The next tick not yet handled.
    public var nextTime: Timestamp
    /// The last tick that started a run.
    public var lastTick: Timestamp?
    /// The last tick that was skipped, and why.
    public var lastSkipped: Timestamp?
    public var lastSkipReason: String?
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        uuid: String, name: String, summary: String?, cron: CronSchedule, timezone: String, run: JSONValue,
        concurrencyPolicy: ScheduleConcurrencyPolicy, paused: Bool, startingDeadline: GoDuration?, nextTime: Timestamp,
        lastTick: Timestamp? = nil, lastSkipped: Timestamp? = nil, lastSkipReason: String? = nil, created: Timestamp,
        updated: Timestamp
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.cron = cron
        self.timezone = timezone
        self.run = run
        self.concurrencyPolicy = concurrencyPolicy
        self.paused = paused
        self.startingDeadline = startingDeadline
        self.nextTime = nextTime
        self.lastTick = lastTick
        self.lastSkipped = lastSkipped
        self.lastSkipReason = lastSkipReason
        self.created = created
        self.updated = updated
    }

    /// The time zone of an IANA name; 400 naming `timezone` when it is unknown.
    public static func timeZone(named name: String) throws(ClaiflowError) -> TimeZone {
        guard !name.isEmpty, let zone = TimeZone(identifier: name) else {
            throw ClaiflowError.invalidField(
                "timezone", "\"\(name)\" is not a known IANA time zone name like \"UTC\" or \"Europe/Berlin\"")
        }
        return zone
    }

    /// The schedule's time zone (UTC when its name is no longer known).
    public var zone: TimeZone { (try? Self.timeZone(named: timezone)) ?? TimeZone(secondsFromGMT: 0) ?? .current }

    /// The next `count` ticks from ``nextTime`` on; none while paused.
    public func upcoming(_ count: Int) -> [Timestamp] {
        guard !paused, count > 0 else { return [] }
        return [nextTime] + cron.next(count - 1, after: nextTime, in: zone)
    }

    /// The schedule as the API shows it; `lastRuns` (uuid, state, created) in the detail only.
    public func json(lastRuns: [(uuid: String, state: String, created: Timestamp)]?) -> JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.rfc3339) } ?? .null }
        var o: [String: JSONValue] = [
            "uuid": .string(uuid), "name": .string(name), "summary": summary.map { .string($0) } ?? .null,
            "cron": .string(cron.text), "timezone": .string(timezone), "run": run,
            "concurrency_policy": .string(concurrencyPolicy.rawValue), "paused": .bool(paused),
            "starting_deadline": startingDeadline.map { .string($0.description) } ?? .null,
            "next": .array(upcoming(3).map { .string($0.rfc3339) }), "last_tick": time(lastTick),
            "last_skipped": time(lastSkipped), "last_skip_reason": lastSkipReason.map { .string($0) } ?? .null,
            "created": time(created), "updated": time(updated),
        ]
        if let lastRuns {
            o["last_runs"] = .array(
                lastRuns.map { .object(["uuid": .string($0.uuid), "state": .string($0.state), "created": time($0.created)]) })
        }
        return .object(o)
    }
}
