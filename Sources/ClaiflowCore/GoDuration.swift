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
    ///
    /// Follows Go's `time.ParseDuration` step by step, except that a fraction is scaled with integer
    /// arithmetic instead of a `float64`, so every result is exact: `0.00135s` is 1,350,000 ns and
    /// `0.035m` is 2.1 s. Like Go, fraction digits beyond what 63 bits hold are ignored, and the
    /// range is that of Go's `Duration` (`-9223372036854775808ns` parses, its positive twin does not).
    public init?(parsing text: String) {
        var s = Substring(text).utf8
        var negative = false
        if let f = s.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            s = s.dropFirst()
        }
        if s.elementsEqual("0".utf8) {
            self.nanoseconds = 0
            return
        }
        if s.isEmpty { return nil }
        let limit: UInt64 = 1 << 63
        var total: UInt64 = 0
        while !s.isEmpty {
            // The next character must be a digit or the decimal point.
            guard let first = s.first, first == UInt8(ascii: ".") || Self.isDigit(first) else { return nil }
            guard let leading = Self.leadingInt(s) else { return nil }
            let (whole, afterWhole) = leading
            let sawWhole = afterWhole.startIndex != s.startIndex
            s = afterWhole
            var fraction: (digits: UInt64, scale: UInt64) = (0, 1)
            var sawFraction = false
            if s.first == UInt8(ascii: ".") {
                s = s.dropFirst()
                let (digits, scale, afterFraction) = Self.leadingFraction(s)
                sawFraction = afterFraction.startIndex != s.startIndex
                fraction = (digits, scale)
                s = afterFraction
            }
            // No digits at all, e.g. ".s" or "-.s".
            guard sawWhole || sawFraction else { return nil }
            let unitEnd = s.firstIndex { $0 == UInt8(ascii: ".") || Self.isDigit($0) } ?? s.endIndex
            guard unitEnd != s.startIndex, let unit = Self.unit(s[..<unitEnd]) else { return nil }
            s = s[unitEnd...]
            guard whole <= limit / unit else { return nil }
            var value = whole * unit
            if fraction.digits > 0 {
                // digits < scale, so digits × unit / scale < unit: the quotient always fits.
                let product = fraction.digits.multipliedFullWidth(by: unit)
                value += fraction.scale.dividingFullWidth(product).quotient
                guard value <= limit else { return nil }
            }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow, sum <= limit else { return nil }
            total = sum
        }
        if negative {
            self.nanoseconds = total == limit ? Int64.min : -Int64(total)
        } else {
            guard total < limit else { return nil }
            self.nanoseconds = Int64(total)
        }
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    /// Consumes the leading digits of `s` (Go's `leadingInt`); nil when they overflow 63 bits.
    private static func leadingInt(_ s: Substring.UTF8View) -> (UInt64, Substring.UTF8View)? {
        var x: UInt64 = 0
        var rest = s
        while let c = rest.first, isDigit(c) {
            guard x <= (1 << 63) / 10 else { return nil }
            x = x * 10 + UInt64(c - UInt8(ascii: "0"))
            guard x <= 1 << 63 else { return nil }
            rest = rest.dropFirst()
        }
        return (x, rest)
    }

    /// Consumes the leading digits of a fraction (Go's `leadingFraction`): the digits as an integer
    /// and the matching power of ten; digits past 63 bits of precision are consumed but ignored.
    private static func leadingFraction(
        _ s: Substring.UTF8View
    ) -> (digits: UInt64, scale: UInt64, rest: Substring.UTF8View) {
        var x: UInt64 = 0
        var scale: UInt64 = 1
        var overflow = false
        var rest = s
        while let c = rest.first, isDigit(c) {
            rest = rest.dropFirst()
            if overflow { continue }
            guard x <= (1 << 63 - 1) / 10 else {
                overflow = true
                continue
            }
            let y = x * 10 + UInt64(c - UInt8(ascii: "0"))
            guard y <= 1 << 63 else {
                overflow = true
                continue
            }
            x = y
            scale *= 10
        }
        return (x, scale, rest)
    }

    /// Nanoseconds per unit, by the unit's spelling (both micro signs are accepted, as in Go).
    private static func unit(_ name: Substring.UTF8View) -> UInt64? {
        switch String(decoding: name, as: UTF8.self) {
        case "ns": 1
        case "us", "µs", "μs": 1_000
        case "ms": 1_000_000
        case "s": 1_000_000_000
        case "m": 60_000_000_000
        case "h": 3_600_000_000_000
        default: nil
        }
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
