/// A duration written the way the original (Go) claiflow writes it: `8760h0m0s`, `1m30s`, `1.5h`, `300ms`.
///
/// Global variables store their values in this format, so parsing and rendering follow Go's
/// `time.ParseDuration` and `time.Duration.String` exactly.
public struct GoDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The length in nanoseconds (may be negative).
    public var nanoseconds: Int64

    /// Creates a duration from nanoseconds.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    /// Creates a duration from whole seconds.
    public static func seconds(_ s: Int64) -> GoDuration { GoDuration(nanoseconds: s * 1_000_000_000) }

    /// The duration in seconds as a floating-point value.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    /// The duration as a Swift `Duration`.
    public var swiftDuration: Duration { .nanoseconds(nanoseconds) }

    public static func < (l: GoDuration, r: GoDuration) -> Bool { l.nanoseconds < r.nanoseconds }

    /// Parses Go duration syntax: an optional sign then one or more `<decimal><unit>` with units
    /// `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`; `0` alone is allowed. Returns nil when invalid or out of range.
    public init?(parsing text: String) {
        var s = Substring(text)
        var negative = false
        if let f = s.first, f == "-" || f == "+" {
            negative = f == "-"
            s = s.dropFirst()
        }
        if s == "0" { self.nanoseconds = 0; return }
        if s.isEmpty { return nil }
        var total: Double = 0
        var totalInt: Int64 = 0
        while !s.isEmpty {
            var intPart: Int64 = 0
            var fracPart: Double = 0
            var fracScale: Double = 1
            var sawDigit = false
            while let c = s.first, let d = c.wholeNumberValue, c.isASCII {
                let (m, o1) = intPart.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d))
                if o1 || o2 { return nil }
                intPart = a
                sawDigit = true
                s = s.dropFirst()
            }
            if s.first == "." {
                s = s.dropFirst()
                while let c = s.first, let d = c.wholeNumberValue, c.isASCII {
                    fracScale /= 10
                    fracPart += Double(d) * fracScale
                    sawDigit = true
                    s = s.dropFirst()
                }
            }
            guard sawDigit else { return nil }
            let unit: Int64
            if s.hasPrefix("ns") { unit = 1; s = s.dropFirst(2) }
            else if s.hasPrefix("us") { unit = 1_000; s = s.dropFirst(2) }
            else if s.hasPrefix("µs") { unit = 1_000; s = s.dropFirst(2) }
            else if s.hasPrefix("μs") { unit = 1_000; s = s.dropFirst(2) }
            else if s.hasPrefix("ms") { unit = 1_000_000; s = s.dropFirst(2) }
            else if s.hasPrefix("s") { unit = 1_000_000_000; s = s.dropFirst(1) }
            else if s.hasPrefix("m") { unit = 60_000_000_000; s = s.dropFirst(1) }
            else if s.hasPrefix("h") { unit = 3_600_000_000_000; s = s.dropFirst(1) }
            else { return nil }
            let (whole, o) = intPart.multipliedReportingOverflow(by: unit)
            if o { return nil }
            let (sum, o2) = totalInt.addingReportingOverflow(whole)
            if o2 { return nil }
            totalInt = sum
            total += fracPart * Double(unit)
        }
        let (result, o) = totalInt.addingReportingOverflow(Int64(total))
        if o { return nil }
        self.nanoseconds = negative ? -result : result
    }

    /// Go's canonical rendering: `8760h0m0s`, `1m0s`, `1.5s`, `300ms`, `0s`.
    public var description: String {
        if nanoseconds == 0 { return "0s" }
        let neg = nanoseconds < 0
        let u = nanoseconds.magnitude
        var out: String
        if u < 1_000_000_000 {
            let (unit, scale): (String, UInt64) = u < 1_000 ? ("ns", 1) : u < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            out = Self.fraction(u, scale) + unit
        } else {
            let h = u / 3_600_000_000_000
            let m = u / 60_000_000_000 % 60
            let secPart = u % 60_000_000_000
            out = Self.fraction(secPart, 1_000_000_000) + "s"
            if h > 0 { out = "\(h)h\(m)m" + out } else if m > 0 { out = "\(m)m" + out }
        }
        return neg ? "-" + out : out
    }

    private static func fraction(_ v: UInt64, _ scale: UInt64) -> String {
        let whole = v / scale
        var frac = v % scale
        if frac == 0 { return String(whole) }
        var digits = String(frac)
        let width = String(scale).count - 1
        digits = String(repeating: "0", count: width - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        frac = 0
        return "\(whole).\(digits)"
    }
}
