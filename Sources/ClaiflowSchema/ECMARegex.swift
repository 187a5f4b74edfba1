import Foundation

/// A compiled `pattern`: an ECMA-262 regular expression run on ICU (NSRegularExpression) after
/// translating the constructs whose meaning differs (`\d`, `\w`, `\s`, `.`, `$`, `\u{…}`).
/// Matching is unanchored, like `RegExp.prototype.test`.
struct ECMARegex: Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let kind: Kind

    private enum Kind: Sendable {
        /// `^.`: a non-empty string not starting with a line terminator (the templates' favourite).
        case nonEmptyFirstLine
        /// Matches everything (empty pattern).
        case always
        case regex(NSRegularExpression)
    }

    /// Compiles; nil when the pattern is not a valid regular expression.
    init?(_ source: String) {
        self.source = source
        if source == "^." {
            kind = .nonEmptyFirstLine
            return
        }
        if source.isEmpty {
            kind = .always
            return
        }
        guard let translated = Self.translate(source),
            let regex = try? NSRegularExpression(pattern: translated, options: [])
        else { return nil }
        kind = .regex(regex)
    }

    /// Whether the pattern matches somewhere in the string.
    func matches(_ s: String) -> Bool {
        switch kind {
        case .always:
            return true
        case .nonEmptyFirstLine:
            guard let first = s.unicodeScalars.first else { return false }
            return !Self.isLineTerminator(first)
        case .regex(let regex):
            let range = NSRange(location: 0, length: s.utf16.count)
            return regex.firstMatch(in: s, options: [], range: range) != nil
        }
    }

    private static func isGroupNameCharacter(_ c: Unicode.Scalar) -> Bool {
        c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" || c == "$"
    }

    private static func isLineTerminator(_ s: Unicode.Scalar) -> Bool {
        s == "\n" || s == "\r" || s == "\u{2028}" || s == "\u{2029}"
    }

    private static let digit = "0-9"
    private static let word = "a-zA-Z0-9_"
    private static let space =
        "\\t\\n\\x{000B}\\f\\r \\x{00A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

    /// Rewrites ECMA-262 syntax into ICU syntax with the same meaning; nil for a malformed pattern.
    static func translate(_ pattern: String) -> String? {
        let s = Array(pattern.unicodeScalars)
        var out = ""
        var i = 0
        var inClass = false
        while i < s.count {
            let c = s[i]
            if c == "\\" {
                guard i + 1 < s.count else { return nil }
                let e = s[i + 1]
                i += 2
                switch e {
                case "d": out += inClass ? digit : "[\(digit)]"
                case "D": out += inClass ? "[^\(digit)]" : "[^\(digit)]"
                case "w": out += inClass ? word : "[\(word)]"
                case "W": out += "[^\(word)]"
                case "s": out += inClass ? space : "[\(space)]"
                case "S": out += "[^\(space)]"
                case "u":
                    if i < s.count, s[i] == "{" {
                        // \u{hex}
                        guard let close = s[i...].firstIndex(of: "}") else { return nil }
                        let hex = String(String.UnicodeScalarView(s[(i + 1)..<close]))
                        out += "\\x{\(hex)}"
                        i = close + 1
                    } else {
                        out += "\\u"
                    }
                case "v":
                    // ICU's \v is any vertical space; ECMA-262's is U+000B only.
                    out += "\\x{000B}"
                case "b", "B", "f", "n", "r", "t", "x", "p", "P", "k", "c", "0"..."9":
                    if e == "c" {
                        guard i < s.count, s[i].isASCII, s[i].properties.isAlphabetic else { return nil }
                    }
                    out += "\\"
                    out.unicodeScalars.append(e)
                case "a"..."z", "A"..."Z":
                    // Other letter escapes (\a, \z, \A, \Q, …) are not ECMA-262 (unicode mode).
                    return nil
                default:
                    out += "\\"
                    out.unicodeScalars.append(e)
                }
                continue
            }
            if inClass {
                if c == "]" {
                    inClass = false
                } else if c == "[" {
                    // A literal "[" inside a class in ECMA-262; ICU would start a nested set.
                    out += "\\["
                    i += 1
                    continue
                }
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            switch c {
            case "(":
                out += "("
                if i + 1 < s.count, s[i + 1] == "?" {
                    // Only (?:…), (?=…), (?!…), (?<=…), (?<!…) and (?<name>…) exist in ECMA-262;
                    // ICU would also accept inline flags, comments and Python-style groups.
                    guard i + 2 < s.count else { return nil }
                    let k = s[i + 2]
                    if k == ":" || k == "=" || k == "!" {
                    } else if k == "<", i + 3 < s.count {
                        if s[i + 3] != "=" && s[i + 3] != "!" {
                            guard let close = s[(i + 3)...].firstIndex(of: ">"), close > i + 3,
                                s[(i + 3)..<close].allSatisfy(isGroupNameCharacter)
                            else { return nil }
                        }
                    } else {
                        return nil
                    }
                }
            case "[":
                inClass = true
                out += "["
                if i + 1 < s.count, s[i + 1] == "^" {
                    out += "^"
                    i += 1
                }
                // "[]" matches nothing and "[^]" anything in ECMA-262.
                if i + 1 < s.count, s[i + 1] == "]" {
                    let negated = out.hasSuffix("^")
                    out.removeLast(negated ? 2 : 1)
                    out += negated ? "[\\s\\S]" : "(?!)"
                    inClass = false
                    i += 2
                    continue
                }
            case ".":
                out += "[^\\n\\r\\x{2028}\\x{2029}]"
            case "$":
                out += "(?!(?s:.))"
            default:
                out.unicodeScalars.append(c)
            }
            i += 1
        }
        return inClass ? nil : out
    }
}
