import Foundation

/// A point in time with microsecond precision, always rendered in UTC.
///
/// Stored as whole microseconds since the Unix epoch so that a value written to either store
/// and read back is bit-for-bit identical (no floating point drift), and renders the same in a
/// create response and in a later GET.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    /// Creates a timestamp from microseconds since the Unix epoch.
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The current time, truncated to whole microseconds.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    /// Creates a timestamp from a Foundation date (rounded to the nearest microsecond).
    public init(_ date: Date) {
        self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The Foundation date of this timestamp.
    public var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }

    /// Whole seconds since the Unix epoch (rounded down).
    public var unixSeconds: Int64 { microseconds >= 0 ? microseconds / 1_000_000 : -((-microseconds + 999_999) / 1_000_000) }

    /// Returns this timestamp moved by a duration.
    public func adding(_ duration: GoDuration) -> Timestamp {
        let (sum, overflow) = microseconds.addingReportingOverflow(duration.nanoseconds / 1000)
        if overflow { return Timestamp(microseconds: duration.nanoseconds > 0 ? Int64.max : Int64.min) }
        return Timestamp(microseconds: sum)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// RFC 3339 in UTC with exactly six fractional digits, e.g. `2024-03-05T13:10:00.000000Z`.
    public var description: String { rfc3339 }

    /// RFC 3339 in UTC with exactly six fractional digits, e.g. `2024-03-05T13:10:00.000000Z`.
    public var rfc3339: String {
        let secs = unixSeconds
        let micros = microseconds - secs * 1_000_000
        let days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400)
        let rem = secs - days * 86400
        let (y, m, d) = Self.civil(fromDays: days)
        if (0...9999).contains(y) {
            // The common case, written straight into the 27 bytes of the result.
            return String(unsafeUninitializedCapacity: 27) { buffer in
                func put(_ v: Int64, _ width: Int, at offset: Int) {
                    var v = v
                    for i in stride(from: offset + width - 1, through: offset, by: -1) {
                        buffer[i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                        v /= 10
                    }
                }
                put(y, 4, at: 0)
                buffer[4] = UInt8(ascii: "-")
                put(m, 2, at: 5)
                buffer[7] = UInt8(ascii: "-")
                put(d, 2, at: 8)
                buffer[10] = UInt8(ascii: "T")
                put(rem / 3600, 2, at: 11)
                buffer[13] = UInt8(ascii: ":")
                put(rem % 3600 / 60, 2, at: 14)
                buffer[16] = UInt8(ascii: ":")
                put(rem % 60, 2, at: 17)
                buffer[19] = UInt8(ascii: ".")
                put(micros, 6, at: 20)
                buffer[26] = UInt8(ascii: "Z")
                return 27
            }
        }
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem % 3600 / 60, 2)):\(pad(rem % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Parses RFC 3339 (`2024-01-01T00:00:00Z`, any offset, 0–9 fractional digits; `t`, `z` and a
    /// space instead of `T` accepted), `YYYY-MM-DD HH:MM:SS[.frac]` (taken as UTC) or `YYYY-MM-DD`
    /// (midnight UTC). Fractions beyond microseconds are truncated. Returns nil when invalid.
    public init?(parsing text: String) {
        let b = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= Self.daysInMonth(y, mo) else { return nil }
        var hh: Int64 = 0
        var mm: Int64 = 0
        var ss: Int64 = 0
        var frac: Int64 = 0
        var offset: Int64 = 0
        if i < b.count {
            guard b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }  // T t space
            i += 1
            guard let h = digits(2), expect(58), let mi = digits(2), expect(58), let s = digits(2) else { return nil }
            guard h < 24, mi < 60, s < 60 else { return nil }
            hh = h
            mm = mi
            ss = s
            if i < b.count, b[i] == 46 {  // .
                i += 1
                var n = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    if n < 6 { frac = frac * 10 + Int64(b[i] - 48) }
                    n += 1
                    i += 1
                }
                guard n > 0, n <= 9 else { return nil }
                if n < 6 { for _ in n..<6 { frac *= 10 } }
            }
            if i < b.count {
                if b[i] == 90 || b[i] == 122 {  // Z z
                    i += 1
                } else if b[i] == 43 || b[i] == 45 {  // + -
                    let sign: Int64 = b[i] == 45 ? -1 : 1
                    i += 1
                    guard let oh = digits(2), expect(58), let om = digits(2), oh < 24, om < 60 else { return nil }
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
            guard i == b.count else { return nil }
        }
        let days = Self.days(fromCivil: y, mo, d)
        let secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset
        self.microseconds = secs * 1_000_000 + frac
    }

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = Timestamp(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an RFC 3339 timestamp, got \"\(s)\"")
        }
        self = t
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }
}
