import ClaiflowAPIClient
import ClaiflowCLI
import Foundation
import Testing

/// The `-o table` / `-o wide` rows of schedules.
@Suite("CLI schedule table")
struct ScheduleTableTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func text(_ seconds: TimeInterval) -> String {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format.string(from: now.addingTimeInterval(seconds))
    }

    @Test("NEXT is relative to now, LAST RUN is the newest run's state, PAUSED is yes or no")
    func row() {
        let schedule = Components.Schemas.Schedule(
            uuid: "sch1", name: "nightly", cron: "0 2 * * *", timezone: "UTC", concurrencyPolicy: .forbid, paused: true,
            startingDeadline: "10m", next: [Self.text(5 * 3600 + 30), Self.text(29 * 3600)], lastTick: Self.text(-120),
            created: Self.text(-3 * 86400),
            lastRuns: [.init(uuid: "r2", state: .failed, created: Self.text(-120)), .init(uuid: "r1", state: .succeeded)])
        let table = ResourceTables.schedules([schedule], wide: false, now: Self.now)
        #expect(table.header == ["name", "cron", "timezone", "policy", "paused", "next", "last run", "age"])
        #expect(table.rows == [["nightly", "0 2 * * *", "UTC", "forbid", "yes", "in 5h", "failed", "3d"]])
        let wide = ResourceTables.schedules([schedule], wide: true, now: Self.now)
        #expect(wide.rows.first?.suffix(5) == ["sch1", "10m", "2m", "", ""])
    }

    @Test("a listed schedule (no runs, no next tick) leaves those cells empty; a due tick is now")
    func sparse() {
        let listed = Components.Schemas.Schedule(name: "a", paused: false, created: Self.text(-30))
        let due = Components.Schemas.Schedule(name: "b", next: [Self.text(-1)])
        let rows = ResourceTables.schedules([listed, due], wide: false, now: Self.now).rows
        #expect(rows[0] == ["a", "", "", "", "no", "", "", "30s"])
        #expect(rows[1][5] == "now")
    }
}
