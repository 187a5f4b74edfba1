import Foundation

/// Internationalised host names (IDNA2008, RFC 5890–5893) as far as `format` checks need:
/// Punycode, the per-code-point rules approximated from Unicode general categories, the
/// CONTEXTJ/CONTEXTO rules of RFC 5892 appendix A, and the Bidi rule of RFC 5893.
enum IDNA {
    /// Label separators accepted in internationalised names (RFC 3490 §3.1).
    static let separators: Set<Unicode.Scalar> = [".", "\u{3002}", "\u{FF0E}", "\u{FF61}"]

    /// An ASCII letter-digit-hyphen label of 1–63 characters.
    static func isLDHLabel(_ label: Substring) -> Bool {
        guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
        return label.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45
        }
    }

    /// A valid `xn--` label: decodes, re-encodes to itself, and the result is a valid U-label.
    static func isALabel(_ label: String) -> Bool {
        let lower = label.lowercased()
        guard lower.hasPrefix("xn--"), let decoded = Punycode.decode(String(lower.dropFirst(4))) else { return false }
        guard decoded.contains(where: { !$0.isASCII }), Punycode.encode(decoded) == String(lower.dropFirst(4)) else {
            return false
        }
        return isULabel(decoded)
    }

    /// `idn-hostname`.
    static func isHostname(_ s: String) -> Bool {
        // No valid name has more than 253 code points (each label's A-label is at least as long).
        guard !s.isEmpty, s.unicodeScalars.count <= 253 else { return false }
        var labels: [[Unicode.Scalar]] = [[]]
        for c in s.unicodeScalars {
            if separators.contains(c) { labels.append([]) } else { labels[labels.count - 1].append(c) }
        }
        var total = 0
        var unicodeLabels: [[Unicode.Scalar]] = []
        for label in labels {
            guard !label.isEmpty else { return false }
            let text = String(String.UnicodeScalarView(label))
            if label.allSatisfy(\.isASCII) {
                guard isLDHLabel(Substring(text)) else { return false }
                if text.count >= 4, text.dropFirst(2).hasPrefix("--") {
                    guard isALabel(text), let decoded = Punycode.decode(String(text.lowercased().dropFirst(4))) else {
                        return false
                    }
                    unicodeLabels.append(decoded)
                } else {
                    unicodeLabels.append(label)
                }
                total += label.count
            } else {
                guard isULabel(label) else { return false }
                let encoded = "xn--" + Punycode.encode(label)
                guard encoded.utf8.count <= 63 else { return false }
                total += encoded.utf8.count
                unicodeLabels.append(label)
            }
        }
        total += labels.count - 1
        guard total <= 253 else { return false }
        return satisfiesBidiRule(unicodeLabels)
    }

    // MARK: U-labels

    static func isULabel(_ label: [Unicode.Scalar]) -> Bool {
        guard let first = label.first, let last = label.last, first != "-", last != "-" else { return false }
        if label.count >= 4 && label[2] == "-" && label[3] == "-" { return false }
        switch first.properties.generalCategory {
        case .spacingMark, .nonspacingMark, .enclosingMark: return false
        default: break
        }
        for (i, c) in label.enumerated() {
            switch status(c) {
            case .pValid: continue
            case .disallowed: return false
            case .contextJ:
                guard i > 0 else { return false }
                if label[i - 1].properties.canonicalCombiningClass.rawValue == 9 { continue }  // Virama
                if c == "\u{200D}" { return false }
                guard zeroWidthNonJoinerContext(label, i) else { return false }
            case .contextO:
                guard contextO(label, i) else { return false }
            }
        }
        return true
    }

    private enum Status { case pValid, disallowed, contextJ, contextO }

    private static func status(_ c: Unicode.Scalar) -> Status {
        switch c.value {
        case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007: return .pValid
        case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031...0x3035, 0x303B: return .disallowed
        case 0x200C, 0x200D: return .contextJ
        case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, 0x0660...0x0669, 0x06F0...0x06F9: return .contextO
        case 0x2D, 0x30...0x39, 0x61...0x7A: return .pValid
        case 0...0x7F: return .disallowed
        default: break
        }
        switch c.properties.generalCategory {
        case .lowercaseLetter, .otherLetter, .modifierLetter, .nonspacingMark, .spacingMark, .decimalNumber:
            // Stable under NFKC case folding, else DISALLOWED (compatibility forms, …).
            let s = String(c)
            return s.precomposedStringWithCompatibilityMapping.lowercased() == s ? .pValid : .disallowed
        default:
            return .disallowed
        }
    }

    /// RFC 5892 A.1: `(Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D})`.
    private static func zeroWidthNonJoinerContext(_ label: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, joiningType(label[j]) == .transparent { j -= 1 }
        guard j >= 0, [.left, .dual].contains(joiningType(label[j])) else { return false }
        var k = i + 1
        while k < label.count, joiningType(label[k]) == .transparent { k += 1 }
        guard k < label.count, [.right, .dual].contains(joiningType(label[k])) else { return false }
        return true
    }

    private enum JoiningType { case none, left, right, dual, transparent }

    /// Arabic joining types, approximated: Arabic-script letters are dual-joining except the
    /// right-joining ones; marks are transparent.
    private static func joiningType(_ c: Unicode.Scalar) -> JoiningType {
        let v = c.value
        switch c.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return .transparent
        default: break
        }
        let rightJoining: Set<UInt32> = [
            0x0622, 0x0623, 0x0624, 0x0625, 0x0627, 0x0629, 0x062F, 0x0630, 0x0631, 0x0632, 0x0648, 0x0671, 0x0672,
            0x0673, 0x0675, 0x0676, 0x0677, 0x06C0, 0x06C3, 0x06C4, 0x06C5, 0x06C6, 0x06C7, 0x06C8, 0x06C9, 0x06CA,
            0x06CB, 0x06CD, 0x06CF, 0x06D2, 0x06D3, 0x06D5, 0x06EE, 0x06EF,
        ]
        if rightJoining.contains(v) || (0x0688...0x0699).contains(v) { return .right }
        let arabicLetters =
            (0x0620...0x064A).contains(v) || (0x066E...0x06D3).contains(v) || (0x06FA...0x06FF).contains(v)
            || (0x0750...0x077F).contains(v) || (0x08A0...0x08C9).contains(v)
        if arabicLetters && c.properties.generalCategory == .otherLetter { return .dual }
        return .none
    }

    private static func isScript(_ c: Unicode.Scalar, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        ranges.contains { $0.contains(c.value) }
    }

    private static let greek: [ClosedRange<UInt32>] = [0x0370...0x0373, 0x0376...0x03FF, 0x1F00...0x1FFF]
    private static let hebrew: [ClosedRange<UInt32>] = [0x0591...0x05F4, 0xFB1D...0xFB4F]
    private static let hiraganaKatakanaHan: [ClosedRange<UInt32>] = [
        0x3040...0x309F, 0x30A0...0x30FA, 0x30FC...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F, 0x3005...0x3007,
        0x3021...0x3029, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3134F,
    ]

    /// RFC 5892 A.3–A.9.
    private static func contextO(_ label: [Unicode.Scalar], _ i: Int) -> Bool {
        let c = label[i]
        switch c.value {
        case 0x00B7:
            return i > 0 && i + 1 < label.count && label[i - 1] == "l" && label[i + 1] == "l"
        case 0x0375:
            return i + 1 < label.count && isScript(label[i + 1], greek)
        case 0x05F3, 0x05F4:
            return i > 0 && isScript(label[i - 1], hebrew)
        case 0x30FB:
            return label.contains { $0 != c && isScript($0, hiraganaKatakanaHan) }
        case 0x0660...0x0669:
            return !label.contains { (0x06F0...0x06F9).contains($0.value) }
        case 0x06F0...0x06F9:
            return !label.contains { (0x0660...0x0669).contains($0.value) }
        default:
            return false
        }
    }

    // MARK: Bidi rule (RFC 5893)

    private enum BidiClass { case l, r, al, an, en, es, cs, et, on, bn, nsm, other }

    private static func bidiClass(_ c: Unicode.Scalar) -> BidiClass {
        let v = c.value
        switch c.properties.generalCategory {
        case .nonspacingMark, .enclosingMark: return .nsm
        default: break
        }
        switch v {
        case 0x30...0x39, 0x06F0...0x06F9, 0xB2, 0xB3, 0xB9: return .en
        case 0x0660...0x0669, 0x066B, 0x066C: return .an
        case 0x2B, 0x2D: return .es
        case 0x2C, 0x2E, 0x2F, 0x3A, 0xA0: return .cs
        case 0x23...0x25, 0xA2...0xA5, 0xB0, 0xB1: return .et
        case 0x0590...0x05FF, 0x07C0...0x085F, 0xFB1D...0xFB4F: return .r
        case 0x0600...0x07BF, 0x0860...0x08FF, 0xFB50...0xFDFF, 0xFE70...0xFEFF: return .al
        default: break
        }
        if c.properties.isAlphabetic || c.properties.generalCategory == .decimalNumber { return .l }
        switch c.properties.generalCategory {
        case .format, .control: return .bn
        default: return .on
        }
    }

    /// Applies when some label contains right-to-left characters.
    private static func satisfiesBidiRule(_ labels: [[Unicode.Scalar]]) -> Bool {
        let classes = labels.map { $0.map(bidiClass) }
        let isBidiDomain = classes.contains { $0.contains { [.r, .al, .an].contains($0) } }
        guard isBidiDomain else { return true }
        for label in classes {
            guard let first = label.first else { return false }
            let trimmed = label.reversed().drop(while: { $0 == .nsm })
            guard let lastSignificant = trimmed.first else { return false }
            switch first {
            case .r, .al:
                let allowed: Set<BidiClass> = [.r, .al, .an, .en, .es, .cs, .et, .on, .bn, .nsm]
                guard label.allSatisfy(allowed.contains), [.r, .al, .en, .an].contains(lastSignificant) else { return false }
                if label.contains(.en) && label.contains(.an) { return false }
            case .l:
                let allowed: Set<BidiClass> = [.l, .en, .es, .cs, .et, .on, .bn, .nsm]
                guard label.allSatisfy(allowed.contains), [.l, .en].contains(lastSignificant) else { return false }
            default:
                return false
            }
        }
        return true
    }
}

/// RFC 3492 Punycode.
enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 128

    private static func adapt(_ delta: Int, _ numPoints: Int, _ firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    private static func digitValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c) - 22
        case 65...90: Int(c) - 65
        case 97...122: Int(c) - 97
        default: nil
        }
    }

    private static func digit(_ d: Int) -> Character {
        Character(Unicode.Scalar(UInt8(d < 26 ? d + 97 : d + 22)))
    }

    /// Decodes the part after `xn--`; nil when malformed.
    static func decode(_ input: String) -> [Unicode.Scalar]? {
        let bytes = Array(input.utf8)
        guard bytes.allSatisfy({ $0 < 128 }) else { return nil }
        var output: [Unicode.Scalar] = []
        var start = 0
        if let delimiter = bytes.lastIndex(of: UInt8(ascii: "-")) {
            for b in bytes[..<delimiter] { output.append(Unicode.Scalar(b)) }
            start = delimiter + 1
            if delimiter == 0 { return nil }
        }
        var n = initialN
        var i = 0
        var bias = initialBias
        var position = start
        while position < bytes.count {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < bytes.count, let d = digitValue(bytes[position]) else { return nil }
                position += 1
                let (product, o1) = d.multipliedReportingOverflow(by: w)
                let (sum, o2) = i.addingReportingOverflow(product)
                guard !o1, !o2, sum < 0x10FFFF * 64 else { return nil }
                i = sum
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if d < t { break }
                w *= base - t
                guard w < 0x10FFFF * 64 else { return nil }
                k += base
            }
            bias = adapt(i - oldI, output.count + 1, oldI == 0)
            n += i / (output.count + 1)
            i %= output.count + 1
            guard let scalar = Unicode.Scalar(UInt32(clamping: n)) else { return nil }
            output.insert(scalar, at: i)
            i += 1
        }
        return output
    }

    /// Encodes to the part after `xn--`.
    static func encode(_ input: [Unicode.Scalar]) -> String {
        var output = ""
        for c in input where c.isASCII { output.unicodeScalars.append(c) }
        let basicCount = output.unicodeScalars.count
        var handled = basicCount
        if basicCount > 0 { output += "-" }
        var n = initialN
        var delta = 0
        var bias = initialBias
        while handled < input.count {
            let m = input.map { Int($0.value) }.filter { $0 >= n }.min() ?? n
            delta += (m - n) * (handled + 1)
            n = m
            for c in input {
                let v = Int(c.value)
                if v < n { delta += 1 }
                if v == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
