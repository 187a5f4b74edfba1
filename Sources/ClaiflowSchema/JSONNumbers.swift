import ClaiflowCore

/// A JSON number as it arrived: an exact integer or a double.
enum JSONNumber: Sendable, Equatable, CustomStringConvertible {
    case integer(Int64)
    case double(Double)

    init?(_ value: JSONValue) {
        switch value {
        case .integer(let i): self = .integer(i)
        case .number(let d): self = .double(d)
        default: return nil
        }
    }

    /// Whether the value is mathematically an integer (`1.0` is).
    var isIntegral: Bool {
        switch self {
        case .integer: true
        case .double(let d): d.isFinite && d == d.rounded(.towardZero)
        }
    }

    /// The value as an Int64 when it is integral and in range.
    var exactInteger: Int64? {
        switch self {
        case .integer(let i): return i
        case .double(let d):
            guard d.isFinite, d == d.rounded(.towardZero), d >= -9.223372036854775808e18, d < 9.223372036854775808e18
            else { return nil }
            return Int64(d)
        }
    }

    var description: String {
        switch self {
        case .integer(let i): return String(i)
        case .double(let d):
            if let i = exactInteger, abs(d) < 1e15 { return String(i) }
            return d.description
        }
    }

    /// Exact comparison; nil when a NaN is involved.
    static func compare(_ a: JSONNumber, _ b: JSONNumber) -> Int? {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        case (.integer(let x), .double(let y)): return compare(x, y)
        case (.double(let x), .integer(let y)): return compare(y, x).map { -$0 }
        }
    }

    /// Compares an integer with a double without losing precision.
    private static func compare(_ i: Int64, _ d: Double) -> Int? {
        if d.isNaN { return nil }
        if d >= 9.223372036854775808e18 { return -1 }
        if d < -9.223372036854775808e18 { return 1 }
        let whole = d.rounded(.towardZero)
        let w = Int64(whole)
        if i != w { return i < w ? -1 : 1 }
        let fraction = d - whole
        return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0)
    }

    /// Whether `self` is an integer multiple of `divisor` (> 0), computed on the shortest decimal
    /// representations of both numbers, so `19.99` is a multiple of `0.01` and `1e308` of `0.5`.
    func isMultiple(of divisor: JSONNumber) -> Bool {
        if case .integer(let x) = self, case .integer(let m) = divisor, m != 0 {
            return x % m == 0
        }
        if let x = DecimalParts(self), let m = DecimalParts(divisor), m.mantissa != 0 {
            return x.isMultiple(of: m)
        }
        // Fallback (more than 19 significant digits): tolerant floating point.
        let xv = doubleValue
        let mv = divisor.doubleValue
        guard mv != 0, xv.isFinite else { return false }
        let q = xv / mv
        guard q.isFinite else { return false }
        return abs(q - q.rounded()) <= 1e-9 * max(1, abs(q))
    }

    var doubleValue: Double {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        }
    }
}

/// A non-negative decimal `mantissa × 10^exponent`, mantissa without trailing zeros.
struct DecimalParts {
    var mantissa: UInt64
    var exponent: Int

    init?(_ number: JSONNumber) {
        switch number {
        case .integer(let i):
            self.init(mantissa: i.magnitude, exponent: 0)
        case .double(let d):
            guard d.isFinite else { return nil }
            guard let parsed = DecimalParts(text: abs(d).description) else { return nil }
            self = parsed
        }
    }

    init(mantissa: UInt64, exponent: Int) {
        var m = mantissa
        var e = exponent
        while m != 0 && m % 10 == 0 {
            m /= 10
            e += 1
        }
        self.mantissa = m
        self.exponent = m == 0 ? 0 : e
    }

    /// Parses `123.45e-6`-style text (as produced by `Double.description`).
    init?(text: String) {
        var digits: [UInt8] = []
        var pointPosition: Int?
        var exponent = 0
        var chars = Substring(text)
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let exp = Int(chars[chars.index(after: e)...].replacingOccurrences(of: "+", with: "")) else {
                return nil
            }
            exponent = exp
            chars = chars[..<e]
        }
        for c in chars.utf8 {
            if c == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if c >= 48 && c <= 57 {
                digits.append(c - 48)
            } else {
                return nil
            }
        }
        let fractionDigits = digits.count - (pointPosition ?? digits.count)
        exponent -= fractionDigits
        // Drop leading zeros, then trailing zeros into the exponent.
        while let first = digits.first, first == 0 { digits.removeFirst() }
        while let last = digits.last, last == 0 {
            digits.removeLast()
            exponent += 1
        }
        guard digits.count <= 19 else { return nil }
        var m: UInt64 = 0
        for d in digits {
            let (r1, o1) = m.multipliedReportingOverflow(by: 10)
            let (r2, o2) = r1.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            m = r2
        }
        self.init(mantissa: m, exponent: exponent)
    }

    /// `self` is a multiple of `m` when `X·10^a / (M·10^b)` is an integer.
    func isMultiple(of m: DecimalParts) -> Bool {
        if mantissa == 0 { return true }
        let shift = exponent - m.exponent
        if shift >= 0 {
            // (X · 10^shift) mod M == 0
            let tenPow = Self.powMod(10, shift, m.mantissa)
            return Self.mulMod(mantissa % m.mantissa, tenPow, m.mantissa) == 0
        }
        // X mod (M · 10^-shift) == 0; if that modulus overflows it exceeds X, so X would have to be 0.
        var modulus = m.mantissa
        for _ in 0..<(-shift) {
            let (r, o) = modulus.multipliedReportingOverflow(by: 10)
            if o { return false }
            modulus = r
        }
        return mantissa % modulus == 0
    }

    private static func mulMod(_ a: UInt64, _ b: UInt64, _ m: UInt64) -> UInt64 {
        let full = a.multipliedFullWidth(by: b)
        return m.dividingFullWidth((full.high, full.low)).remainder
    }

    private static func powMod(_ base: UInt64, _ exponent: Int, _ m: UInt64) -> UInt64 {
        if m == 1 { return 0 }
        var result: UInt64 = 1
        var b = base % m
        var e = exponent
        while e > 0 {
            if e & 1 == 1 { result = mulMod(result, b, m) }
            b = mulMod(b, b, m)
            e >>= 1
        }
        return result
    }
}

/// JSON equality: numbers by value (`1 == 1.0`), objects regardless of key order.
enum JSONEquality {
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)):
            // Code point equality: Swift's `==` would equate canonically equivalent strings.
            return x.utf8.elementsEqual(y.utf8)
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            guard let x = JSONNumber(a), let y = JSONNumber(b) else { return false }
            return JSONNumber.compare(x, y) == 0
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for i in x.indices where !equal(x[i], y[i]) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// Bytes that are equal exactly when two values are JSON-equal (for hashing).
    static func canonicalBytes(_ v: JSONValue) -> [UInt8] {
        Array(normalized(v).serialized().utf8)
    }

    /// The value with integral doubles in the Int64 range turned into integers.
    static func normalized(_ v: JSONValue) -> JSONValue {
        switch v {
        case .number(let d):
            if let i = JSONNumber.double(d).exactInteger { return .integer(i) }
            return v
        case .array(let items):
            return .array(items.map(normalized))
        case .object(let dict):
            return .object(dict.mapValues(normalized))
        default:
            return v
        }
    }
}

/// Short JSON text of a value for messages, cut at about 60 characters.
func preview(_ value: JSONValue) -> String {
    let text: String
    switch value {
    case .integer, .number:
        text = JSONNumber(value)?.description ?? value.serialized()
    default:
        text = value.serialized()
    }
    if text.count > 60 { return String(text.prefix(57)) + "..." }
    return text
}
