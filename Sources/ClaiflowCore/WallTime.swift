/// A wall-clock time (proleptic Gregorian, minute precision) that ``CronSchedule`` steps through.
struct WallTime {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    /// From seconds since 1970-01-01T00:00 as a wall time (seconds dropped).
    init(seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let rest = Int(seconds - days * 86_400)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        (year, month, day) = (Int(y), Int(m), Int(d))
        hour = rest / 3600
        minute = rest % 3600 / 60
    }

    /// Days since 1970-01-01.
    var days: Int { Int(Timestamp.days(fromCivil: Int64(year), Int64(month), Int64(day))) }

    /// Seconds since 1970-01-01T00:00 as a wall time.
    var seconds: Int64 { Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60) }

    /// 0 (Sunday) … 6 (Saturday).
    var weekday: Int { ((days % 7) + 11) % 7 }

    mutating func startNextMinute() {
        minute += 1
        if minute > 59 { startNextHour() }
    }

    mutating func startNextHour() {
        minute = 0
        hour += 1
        if hour > 23 { startNextDay() }
    }

    mutating func startNextDay() {
        minute = 0
        hour = 0
        day += 1
        if day > Int(Timestamp.daysInMonth(Int64(year), Int64(month))) { startNextMonth() }
    }

    mutating func startNextMonth() {
        minute = 0
        hour = 0
        day = 1
        month += 1
        if month > 12 {
            month = 1
            year += 1
        }
    }
}
