import Foundation

/// What a schedule does when its next tick is due: the pure part of the scheduler's decision
/// (the concurrency policy, which needs the schedule's running runs, is applied by the caller).
public enum ScheduleTickRule {
    /// The decision for a due schedule.
    public enum Decision: Sendable, Equatable {
        /// Start a run for `tick`; the schedule's next tick is then `next`.
        case start(tick: Timestamp, next: Timestamp)
        /// Skip `tick` for `reason`; the schedule's next tick is then `next`.
        case skip(tick: Timestamp, reason: String, next: Timestamp)
        /// The cron expression has no further tick: `tick` is skipped and the schedule stops.
        case exhausted(tick: Timestamp)
    }

    /// How many missed ticks are stepped over one by one before the rest are jumped.
    static let maxSteps = 100_000

    /// The decision at `now` for a schedule whose next unhandled tick is `nextTime`; nil when
    /// it is not due. When several ticks were missed (the server was down), only the latest one
    /// counts: it is started unless it is late by more than `startingDeadline`, and the earlier
    /// ones are dropped (a schedule never catches up run by run).
    public static func decide(
        nextTime: Timestamp, now: Timestamp, cron: CronSchedule, zone: TimeZone, startingDeadline: GoDuration?
    ) -> Decision? {
        guard nextTime <= now else { return nil }
        var tick = nextTime
        var following: Timestamp?
        switch cron.kind {
        case .every(let period):
            let micros = max(1, period.nanoseconds / 1000)
            tick = Timestamp(microseconds: nextTime.microseconds + (now.microseconds - nextTime.microseconds) / micros * micros)
            following = Timestamp(microseconds: tick.microseconds + micros)
        case .fields:
            var steps = 0
            while true {
                guard let n = cron.next(after: tick, in: zone) else { break }
                if n > now || steps >= maxSteps {
                    following = n > now ? n : cron.next(after: now, in: zone)
                    break
                }
                tick = n
                steps += 1
            }
        }
        guard let next = following else { return .exhausted(tick: tick) }
        let late = now.microseconds - tick.microseconds
        if let deadline = startingDeadline, late * 1000 > deadline.nanoseconds {
            let lateText = GoDuration(nanoseconds: late / 1000 * 1_000_000)
            return .skip(
                tick: tick, reason: "missed by \(lateText), more than the starting_deadline of \(deadline)", next: next)
        }
        return .start(tick: tick, next: next)
    }
}
