import Foundation

/// A `format` check, used when formats are asserted. Non-string instances are never checked.
struct FormatCheck: Sendable {
    let accepts: @Sendable (String) -> Bool

    /// The check of a format name; nil for formats this module does not know (never asserted).
    static func named(_ name: String) -> FormatCheck? {
        checks[name].map(FormatCheck.init(accepts:))
    }

    private static let checks: [String: @Sendable (String) -> Bool] = [
        "date-time": Formats.isDateTime,
        "date": { Formats.isDate(Array($0.utf8)[...]) },
        "time": { Formats.isTime(Array($0.utf8)[...]) },
        "duration": Formats.isDuration,
        "email": { Formats.isEmail($0, international: false) },
        "idn-email": { Formats.isEmail($0, international: true) },
        "hostname": Formats.isHostname,
        "idn-hostname": IDNA.isHostname,
        "ipv4": Formats.isIPv4,
        "ipv6": Formats.isIPv6,
        "uri": { URISyntax.isValid($0, requireScheme: true, international: false) },
        "uri-reference": { URISyntax.isValid($0, requireScheme: false, international: false) },
        "iri": { URISyntax.isValid($0, requireScheme: true, international: true) },
        "iri-reference": { URISyntax.isValid($0, requireScheme: false, international: true) },
        "uri-template": Formats.isURITemplate,
        "uuid": Formats.isUUID,
        "json-pointer": Formats.isJSONPointer,
        "relative-json-pointer": Formats.isRelativeJSONPointer,
        "regex": { ECMARegex($0) != nil },
    ]
}

/// Format validators (RFC 3339 dates and times, e-mail, IP addresses, JSON pointers, …).
enum Formats {
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }
    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    /// A fixed-width run of ASCII digits as a number.
    private static func number(_ s: ArraySlice<UInt8>) -> Int? {
        guard !s.isEmpty, s.allSatisfy(isDigit) else { return nil }
        return s.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    // MARK: RFC 3339

    static func isDateTime(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count > 11, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") else { return false }
        return isDate(b[0..<10]) && isTime(b[11...])
    }

    /// `full-date`: YYYY-MM-DD with a real day of the month.
    static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let b = Array(b)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let year = number(b[0..<4]), let month = number(b[5..<7]), let day = number(b[8..<10])
        else { return false }
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }

    /// `full-time`: HH:MM:SS[.frac](Z|±HH:MM); a leap second only at 23:59:60 UTC.
    static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let b = Array(b)
        guard b.count >= 9, b[2] == UInt8(ascii: ":"), b[5] == UInt8(ascii: ":"),
            let hour = number(b[0..<2]), let minute = number(b[3..<5]), let second = number(b[6..<8])
        else { return false }
        var i = 8
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            if i == start { return false }
        }
        guard i < b.count else { return false }
        var offsetMinutes = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return false }
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard b.count - i == 6, b[i + 3] == UInt8(ascii: ":"), let oh = number(b[(i + 1)..<(i + 3)]),
                let om = number(b[(i + 4)..<(i + 6)]), oh <= 23, om <= 59
            else { return false }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return false
        }
        guard hour <= 23, minute <= 59, second <= 60 else { return false }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    private static let durationRegex = try? NSRegularExpression(
        pattern:
            "^P(?:[0-9]+W|(?:[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?|[0-9]+M(?:[0-9]+D)?|[0-9]+D)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))$"
    )

    /// ISO 8601 duration as RFC 3339 appendix A defines it.
    static func isDuration(_ s: String) -> Bool {
        guard s.utf8.allSatisfy({ $0 < 128 && $0 != 10 }), let regex = durationRegex else { return false }
        return regex.firstMatch(in: s, range: NSRange(location: 0, length: s.utf16.count)) != nil
    }

    // MARK: Internet addresses

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), let n = number(ArraySlice(part)), n <= 255 else { return false }
            if part.count > 1 && part.first == UInt8(ascii: "0") { return false }
        }
        return true
    }

    static func isIPv6(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 < 128 }) else { return false }
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ text: String, allowIPv4Tail: Bool) -> Int? {
            if text.isEmpty { return 0 }
            let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
            var count = 0
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1 && allowIPv4Tail && piece.contains(".") {
                    guard isIPv4(String(piece)) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(piece.utf8.count), piece.utf8.allSatisfy(isHex) else { return nil }
                    count += 1
                }
            }
            return count
        }
        if halves.count == 1 {
            return groups(s, allowIPv4Tail: true) == 8
        }
        guard let left = groups(halves[0], allowIPv4Tail: false), let right = groups(halves[1], allowIPv4Tail: true)
        else { return false }
        return left + right <= 7
    }

    /// RFC 1123 host name: dot-separated LDH labels of 1–63 characters, at most 253 in all;
    /// `xn--` labels must be valid IDNA A-labels.
    static func isHostname(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, s.utf8.allSatisfy({ $0 < 128 }) else { return false }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            guard IDNA.isLDHLabel(Substring(label)) else { return false }
            if label.count >= 4, label.dropFirst(2).hasPrefix("--") {
                guard label.lowercased().hasPrefix("xn--"), IDNA.isALabel(String(label)) else { return false }
            }
        }
        return true
    }

    /// RFC 5321 mailbox (dot-atom or quoted local part, host name or address literal); with
    /// `international`, UTF-8 local parts and IDN host names (RFC 6531).
    static func isEmail(_ s: String, international: Bool) -> Bool {
        let scalars = Array(s.unicodeScalars)
        guard let at = scalars.lastIndex(of: "@"), at > 0, at < scalars.count - 1 else { return false }
        let local = scalars[..<at]
        let domain = String(String.UnicodeScalarView(scalars[(at + 1)...]))
        if local.first == "\"" {
            guard local.count >= 2, local.last == "\"" else { return false }
            var escaped = false
            for c in local.dropFirst().dropLast() {
                if escaped {
                    escaped = false
                    continue
                }
                if c == "\\" {
                    escaped = true
                } else if c == "\"" || c.value < 32 || c.value == 127 || (c.value > 127 && !international) {
                    return false
                }
            }
            if escaped { return false }
        } else {
            let atext = "!#$%&'*+-/=?^_`{|}~"
            var previousDot = true
            for c in local {
                if c == "." {
                    if previousDot { return false }
                    previousDot = true
                    continue
                }
                previousDot = false
                let ok =
                    (c.isASCII && (isAlpha(UInt8(c.value)) || isDigit(UInt8(c.value)) || atext.unicodeScalars.contains(c)))
                    || (international && c.value > 127)
                if !ok { return false }
            }
            if previousDot { return false }
        }
        if domain.hasPrefix("[") && domain.hasSuffix("]") {
            let literal = String(domain.dropFirst().dropLast())
            if literal.hasPrefix("IPv6:") { return isIPv6(String(literal.dropFirst(5))) }
            return isIPv4(literal)
        }
        return international ? IDNA.isHostname(domain) : isHostname(domain)
    }

    // MARK: Others

    static func isUUID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                if c != UInt8(ascii: "-") { return false }
            } else if !isHex(c) {
                return false
            }
        }
        return true
    }

    static func isJSONPointer(_ s: String) -> Bool {
        if s.isEmpty { return true }
        guard s.hasPrefix("/") else { return false }
        let b = Array(s.utf8)
        for (i, c) in b.enumerated() where c == UInt8(ascii: "~") {
            guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "0") || b[i + 1] == UInt8(ascii: "1") else { return false }
        }
        return true
    }

    static func isRelativeJSONPointer(_ s: String) -> Bool {
        let b = Array(s.utf8)
        var i = 0
        while i < b.count, isDigit(b[i]) { i += 1 }
        guard i > 0, !(i > 1 && b[0] == UInt8(ascii: "0")) else { return false }
        let rest = String(decoding: b[i...], as: UTF8.self)
        return rest == "#" || isJSONPointer(rest)
    }

    /// RFC 6570 level-4 URI template.
    static func isURITemplate(_ s: String) -> Bool {
        let scalars = Array(s.unicodeScalars)
        var i = 0
        func pctEncoded(_ at: Int) -> Bool {
            at + 2 < scalars.count && scalars[at + 1].isASCII && scalars[at + 2].isASCII
                && isHex(UInt8(scalars[at + 1].value)) && isHex(UInt8(scalars[at + 2].value))
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == "{" {
                guard let close = scalars[i...].firstIndex(of: "}") else { return false }
                var body = Array(scalars[(i + 1)..<close])
                if let op = body.first, "+#./;?&=,!@|".unicodeScalars.contains(op) { body.removeFirst() }
                guard !body.isEmpty else { return false }
                for spec in body.split(separator: ",", omittingEmptySubsequences: false) {
                    var name = Array(spec)
                    if name.last == "*" {
                        name.removeLast()
                    } else if let colon = name.firstIndex(of: ":") {
                        let digits = name[(colon + 1)...]
                        guard (1...4).contains(digits.count), digits.first != "0",
                            digits.allSatisfy({ $0.isASCII && isDigit(UInt8($0.value)) })
                        else { return false }
                        name = Array(name[..<colon])
                    }
                    guard !name.isEmpty, name.first != ".", name.last != "." else { return false }
                    var j = 0
                    var previousDot = false
                    while j < name.count {
                        let v = name[j]
                        if v == "." {
                            if previousDot { return false }
                            previousDot = true
                            j += 1
                            continue
                        }
                        previousDot = false
                        if v == "%" {
                            guard j + 2 < name.count, name[j + 1].isASCII, name[j + 2].isASCII,
                                isHex(UInt8(name[j + 1].value)), isHex(UInt8(name[j + 2].value))
                            else { return false }
                            j += 3
                            continue
                        }
                        guard v.isASCII, isAlpha(UInt8(v.value)) || isDigit(UInt8(v.value)) || v == "_" else { return false }
                        j += 1
                    }
                }
                i = close + 1
                continue
            }
            if c == "%" {
                guard pctEncoded(i) else { return false }
                i += 3
                continue
            }
            if c.value <= 0x20 || c.value == 0x7F || "\"<>\\^`{|}".unicodeScalars.contains(c) { return false }
            i += 1
        }
        return true
    }
}

/// RFC 3986 URI / RFC 3987 IRI syntax.
enum URISyntax {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".unicodeScalars)
    private static let subDelims = Set("!$&'()*+,;=".unicodeScalars)

    private static func isUCS(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (0xA0...0xD7FF).contains(v) || (0xF900...0xFDCF).contains(v) || (0xFDF0...0xFFEF).contains(v)
            || (v >= 0x10000 && v <= 0xEFFFD && (v & 0xFFFF) <= 0xFFFD)
    }

    private static func isPrivate(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (0xE000...0xF8FF).contains(v) || (0xF0000...0xFFFFD).contains(v) || (0x100000...0x10FFFD).contains(v)
    }

    /// Whether every character of `text` is allowed (`extra` besides unreserved, sub-delims and
    /// percent-encodings).
    private static func allowed(
        _ text: [Unicode.Scalar], extra: String, international: Bool, privateUse: Bool = false
    )
        -> Bool
    {
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == "%" {
                guard i + 2 < text.count, text[i + 1].properties.isASCIIHexDigit, text[i + 2].properties.isASCIIHexDigit
                else { return false }
                i += 3
                continue
            }
            let ok =
                unreserved.contains(c) || subDelims.contains(c) || extra.unicodeScalars.contains(c)
                || (international && (isUCS(c) || (privateUse && isPrivate(c))))
            if !ok { return false }
            i += 1
        }
        return true
    }

    static func isValid(_ s: String, requireScheme: Bool, international: Bool) -> Bool {
        var rest = Array(s.unicodeScalars)
        var fragment: [Unicode.Scalar]?
        var query: [Unicode.Scalar]?
        if let hash = rest.firstIndex(of: "#") {
            fragment = Array(rest[(hash + 1)...])
            rest = Array(rest[..<hash])
        }
        if let q = rest.firstIndex(of: "?") {
            query = Array(rest[(q + 1)...])
            rest = Array(rest[..<q])
        }
        if let fragment, !allowed(fragment, extra: ":@/?", international: international) { return false }
        if let query, !allowed(query, extra: ":@/?", international: international, privateUse: true) { return false }

        var hasScheme = false
        if let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains("/") {
            let scheme = rest[..<colon]
            guard let first = scheme.first, first.isASCII, first.properties.isAlphabetic,
                scheme.allSatisfy(isSchemeCharacter)
            else { return false }
            hasScheme = true
            rest = Array(rest[(colon + 1)...])
        }
        if requireScheme && !hasScheme { return false }

        var path = rest
        if rest.count >= 2 && rest[0] == "/" && rest[1] == "/" {
            let afterSlashes = rest[2...]
            let end = afterSlashes.firstIndex(of: "/") ?? rest.endIndex
            let authority = Array(rest[2..<end])
            path = Array(rest[end...])
            guard isAuthority(authority, international: international) else { return false }
        } else if !hasScheme, let firstSlash = path.firstIndex(of: "/") ?? Optional(path.endIndex),
            path[..<firstSlash].contains(":")
        {
            // A relative path's first segment must not contain ":".
            return false
        }
        return allowed(path, extra: ":@/", international: international)
    }

    private static func isSchemeCharacter(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "+-.".unicodeScalars.contains(c))
    }

    private static func isAuthority(_ a: [Unicode.Scalar], international: Bool) -> Bool {
        var hostPort = a
        if let at = a.lastIndex(of: "@") {
            guard allowed(Array(a[..<at]), extra: ":", international: international) else { return false }
            hostPort = Array(a[(at + 1)...])
        }
        var host = hostPort
        if hostPort.first == "[" {
            guard let close = hostPort.firstIndex(of: "]") else { return false }
            let literal = String(String.UnicodeScalarView(hostPort[1..<close]))
            let after = Array(hostPort[(close + 1)...])
            if !after.isEmpty {
                guard after.first == ":", after.dropFirst().allSatisfy({ ("0"..."9").contains($0) }) else { return false }
            }
            if literal.first == "v" || literal.first == "V" {
                // IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
                let parts = literal.dropFirst().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                return parts.count == 2 && !parts[0].isEmpty && parts[0].unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit)
                    && !parts[1].isEmpty && allowed(Array(parts[1].unicodeScalars), extra: ":", international: false)
            }
            return Formats.isIPv6(literal)
        }
        if let colon = hostPort.lastIndex(of: ":") {
            guard hostPort[(colon + 1)...].allSatisfy({ ("0"..."9").contains($0) }) else { return false }
            host = Array(hostPort[..<colon])
        }
        return allowed(host, extra: "", international: international)
    }
}
