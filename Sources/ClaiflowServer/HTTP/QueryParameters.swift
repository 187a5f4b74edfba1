import Hummingbird

/// URL query parameters decoded the way Go's `url.ParseQuery` does (`+` is a space, `%XX` escapes).
/// A value with a malformed escape, or whose escapes do not decode to UTF-8, is kept as it came
/// (with `+` as a space).
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ request: Request) {
        guard let query = request.uri.query, !query.isEmpty else { return }
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let kv = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(kv[0])
            let value = kv.count > 1 ? Self.decode(kv[1]) : ""
            if values[key] == nil { values[key] = value }
        }
    }

    private static func decode(_ s: Substring.UTF8View) -> String {
        guard s.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(Substring(s)) }
        var plus: [UInt8] = []
        var decoded: [UInt8] = []
        plus.reserveCapacity(s.count)
        decoded.reserveCapacity(s.count)
        var malformed = false
        var pending = 0  // hex digits still expected after a `%`
        var escaped: UInt8 = 0
        for c in s {
            let b = c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c
            plus.append(b)
            if malformed { continue }
            if pending > 0 {
                guard let v = hexValue(b) else {
                    malformed = true
                    continue
                }
                escaped = escaped << 4 | v
                pending -= 1
                if pending == 0 { decoded.append(escaped) }
            } else if b == UInt8(ascii: "%") {
                pending = 2
                escaped = 0
            } else {
                decoded.append(b)
            }
        }
        if !malformed, pending == 0, let text = String(validating: decoded, as: UTF8.self) { return text }
        return String(decoding: plus, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The first value of a parameter, nil when absent.
    subscript(_ name: String) -> String? { values[name] }

    /// Whether the parameter is present (with any value).
    func has(_ name: String) -> Bool { values[name] != nil }
}
