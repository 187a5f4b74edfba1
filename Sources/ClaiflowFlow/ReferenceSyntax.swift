/// The parsed (not yet resolved) form of a reference string such as
/// `$s1.outputs.items[0]["resource-version"]` or `$it[$it.key].$c1.outputs.v`.
///
/// Grammar (whitespace between tokens is ignored, as in the original):
///
/// ```
/// reference := '$' ( 'inputs' path | step path )
/// step      := NAME ( '[' index ']' '.' '$'? NAME )* '.' slot
/// slot      := 'outputs' | 'inputs' | 'key' | 'val'
/// path      := ( '.' KEY | '.' STRING | '.'? '[' index ']' )*
/// index     := '-'? DIGITS | STRING | reference
/// NAME      := [A-Za-z0-9_]+          (a step id)
/// KEY       := [A-Za-z_][A-Za-z0-9_]*
/// STRING    := a JSON string literal ("resource-version", "a\"b", "\u00e9")
/// ```
struct ReferenceSyntax: Sendable {
    enum Root: Sendable {
        /// `$inputs…`: the service inputs.
        case inputs
        /// `$id…`: a step of the flow.
        case step(StepSelector)
        /// `$error…` inside an `$on_failure` handler: the failure being handled.
        case error
    }

    /// `$it[0].$c1.outputs` → root "it", hops [(0, "c1")], slot outputs.
    struct StepSelector: Sendable {
        var root: String
        var hops: [(index: IndexSyntax, child: String)]
        var slot: Slot
    }

    /// The contents of `[...]`.
    indirect enum IndexSyntax: Sendable {
        case integer(Int)
        case string(String)
        case reference(ReferenceSyntax)
    }

    /// One step of the path after the root.
    enum Segment: Sendable {
        case key(String)
        case index(IndexSyntax)
    }

    var text: String
    var root: Root
    var path: [Segment]
}

/// Which value of a step a reference reads.
enum Slot: String, Sendable, CaseIterable {
    /// A command's (or print's, or finished iteration's) outputs.
    case outputs
    /// A command's resolved inputs.
    case inputs
    /// The current (or last) 0-based index of an iteration.
    case key
    /// The current (or last) element of an iteration.
    case val
}

/// A syntax error in a reference, with the character offset where it was found.
struct ReferenceSyntaxError: Error, Sendable {
    var offset: Int
    var reason: String
    var hint: String?

    var description: String { "\(reason) at offset \(offset)" + (hint.map { "; \($0)" } ?? "") }
}

/// Recursive-descent parser for ``ReferenceSyntax``.
struct ReferenceParser {
    private let text: String
    private let scalars: [Unicode.Scalar]
    private var position = 0
    /// Whether `$error` names the failure being handled (inside an `$on_failure` handler).
    private var allowError = false

    /// Parses a whole reference string (it must start with `$`; trailing characters are an error,
    /// never silently dropped).
    static func parse(_ text: String, allowError: Bool = false) throws(ReferenceSyntaxError) -> ReferenceSyntax {
        var parser = ReferenceParser(text: text)
        parser.allowError = allowError
        let reference = try parser.parseReference()
        parser.skipWhitespace()
        if let c = parser.peek() {
            throw parser.unexpected(c, context: "after the reference")
        }
        return reference
    }

    private init(text: String) {
        self.text = text
        self.scalars = Array(text.unicodeScalars)
    }

    // MARK: - Grammar

    private mutating func parseReference() throws(ReferenceSyntaxError) -> ReferenceSyntax {
        let start = position
        skipWhitespace()
        guard peek() == "$" else { throw error("expected \"$\"") }
        position += 1
        skipWhitespace()
        let nameStart = position
        let name = parseName()
        guard !name.isEmpty else {
            if let c = peek() { throw unexpected(c, context: "after \"$\" (expected a step id or \"inputs\")") }
            throw error("expected a step id or \"inputs\" after \"$\" (write \"$$\" for a literal \"$\")")
        }
        let root: ReferenceSyntax.Root
        if name == "inputs" {
            root = .inputs
        } else if name == "error" && allowError {
            root = .error
        } else {
            root = .step(try parseSelector(root: name, nameStart: nameStart))
        }
        let path = try parsePath()
        return ReferenceSyntax(text: String(String.UnicodeScalarView(scalars[start..<position])), root: root, path: path)
    }

    private mutating func parseSelector(root: String, nameStart: Int) throws(ReferenceSyntaxError) -> ReferenceSyntax.StepSelector
    {
        var hops: [(index: ReferenceSyntax.IndexSyntax, child: String)] = []
        var current = root
        while true {
            skipWhitespace()
            switch peek() {
            case "["?:
                let index = try parseIndex()
                skipWhitespace()
                guard peek() == "." else {
                    throw error("expected \".\" and a step id after \"\(current)[…]\" (e.g. \"$\(root)[0].$child.outputs\")")
                }
                position += 1
                skipWhitespace()
                if peek() == "$" { position += 1 }
                let child = parseName()
                guard !child.isEmpty else { throw error("expected the id of a step inside \"\(current)\"") }
                hops.append((index, child))
                current = child
            case "."?:
                position += 1
                skipWhitespace()
                let slotStart = position
                let word = parseName()
                guard let slot = Slot(rawValue: word) else {
                    position = slotStart
                    let found = word.isEmpty ? (peek().map { "\"\($0)\"" } ?? "the end") : "\"\(word)\""
                    throw error("expected .outputs, .inputs, .key or .val after step \"\(current)\", found \(found)")
                }
                return .init(root: root, hops: hops, slot: slot)
            case let c?:
                throw unexpected(
                    c, context: "after step \"\(current)\" (expected .outputs, .inputs, .key or .val)", inStepID: true)
            case nil:
                throw error("incomplete reference: expected .outputs, .inputs, .key or .val after step \"\(current)\"")
            }
        }
    }

    private mutating func parsePath() throws(ReferenceSyntaxError) -> [ReferenceSyntax.Segment] {
        var segments: [ReferenceSyntax.Segment] = []
        while true {
            skipWhitespace()
            switch peek() {
            case "."?:
                position += 1
                skipWhitespace()
                if peek() == "[" {
                    segments.append(.index(try parseIndex()))
                } else if peek() == "\"" {
                    segments.append(.key(try parseString()))
                } else {
                    guard let first = peek(), first == "_" || isASCIILetter(first) else {
                        if let c = peek(), isDigit(c) {
                            throw error(
                                "a key cannot start with a digit; write [\(c)] for an array index or [\"\(c)…\"] for a key")
                        }
                        if let c = peek() { throw unexpected(c, context: "after \".\" (expected a key)") }
                        throw error("expected a key after \".\"")
                    }
                    segments.append(.key(parseName()))
                }
            case "["?:
                segments.append(.index(try parseIndex()))
            default:
                return segments
            }
        }
    }

    private mutating func parseIndex() throws(ReferenceSyntaxError) -> ReferenceSyntax.IndexSyntax {
        // at "["
        position += 1
        skipWhitespace()
        let index: ReferenceSyntax.IndexSyntax
        switch peek() {
        case "\""?:
            index = .string(try parseString())
        case "$"?:
            index = .reference(try parseReference())
        case let c? where c == "-" || isDigit(c):
            index = .integer(try parseInteger())
        case let c?:
            throw unexpected(c, context: "after \"[\" (expected a number, a \"string\" or a $reference)")
        case nil:
            throw error("missing \"]\"")
        }
        skipWhitespace()
        guard peek() == "]" else {
            if let c = peek() { throw unexpected(c, context: "(expected \"]\")") }
            throw error("missing \"]\"")
        }
        position += 1
        return index
    }

    private mutating func parseInteger() throws(ReferenceSyntaxError) -> Int {
        let start = position
        var negative = false
        if peek() == "-" {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while let c = peek(), isDigit(c) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c.value - 48))
            guard !o1, !o2 else {
                position = start
                throw error("index is too large")
            }
            value = s
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw error("expected digits") }
        return negative ? -value : value
    }

    /// A JSON string literal.
    private mutating func parseString() throws(ReferenceSyntaxError) -> String {
        let start = position
        position += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                position = start
                throw error("unterminated string")
            }
            position += 1
            switch c {
            case "\"":
                return String(out)
            case "\\":
                guard let e = peek() else {
                    position = start
                    throw error("unterminated string")
                }
                position += 1
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    let high = try parseHex4()
                    if (0xD800..<0xDC00).contains(high) {
                        guard peek() == "\\", position + 1 < scalars.count, scalars[position + 1] == "u" else {
                            throw error("invalid surrogate pair in string")
                        }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low),
                            let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                        else { throw error("invalid surrogate pair in string") }
                        out.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(high) else { throw error("invalid \\u escape in string") }
                        out.append(scalar)
                    }
                default:
                    position -= 1
                    throw error("invalid escape \"\\\(e)\" in string")
                }
            default:
                out.append(c)
            }
        }
    }

    private mutating func parseHex4() throws(ReferenceSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek(), let digit = hexValue(c) else { throw error("expected 4 hex digits after \\u") }
            value = value * 16 + digit
            position += 1
        }
        return value
    }

    // MARK: - Lexical helpers

    private func peek() -> Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func skipWhitespace() {
        while let c = peek(), c == " " || c == "\t" || c == "\n" || c == "\r" { position += 1 }
    }

    /// `[A-Za-z0-9_]*`
    private mutating func parseName() -> String {
        var out = String.UnicodeScalarView()
        while let c = peek(), isASCIILetter(c) || isDigit(c) || c == "_" {
            out.append(c)
            position += 1
        }
        return String(out)
    }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
    private func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122)
    }
    private func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 48...57: c.value - 48
        case 65...70: c.value - 55
        case 97...102: c.value - 87
        default: nil
        }
    }

    private func error(_ reason: String) -> ReferenceSyntaxError {
        ReferenceSyntaxError(offset: position, reason: reason)
    }

    private func unexpected(_ c: Unicode.Scalar, context: String, inStepID: Bool = false) -> ReferenceSyntaxError {
        var hint: String?
        if c == "-" || c == "/" || c == ":" || c == "@" || c == "~" || c == "%" || c == "+" || c == "." {
            hint =
                inStepID
                ? "a step id used in references may only contain letters, digits and \"_\""
                : "write keys with characters other than letters, digits and \"_\" as [\"...\"]"
        }
        return ReferenceSyntaxError(offset: position, reason: "unexpected \"\(c)\" \(context)", hint: hint)
    }
}
