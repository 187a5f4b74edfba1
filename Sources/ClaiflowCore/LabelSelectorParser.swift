/// The recursive-descent parser behind ``LabelSelector/init(parsing:)``, after kubectl's
/// (`k8s.io/apimachinery/pkg/labels/selector.go`): the same tokens (`=`, `==`, `!=`, `!`, `(`,
/// `)`, `,`, `in`, `notin`, identifiers), the same contexts (`in` and `notin` are values, and
/// keys, everywhere but in operator position), and the same empty-value rules. Unlike kubectl
/// it reports where the problem is (a 1-based character position), and it refuses `<` and `>`
/// (numeric comparisons, which claiflow does not offer).
struct LabelSelectorParser {
    enum Kind: Equatable {
        case identifier, not, equals, doubleEquals, notEquals, `in`, notIn, open, close, comma, less, greater, end
    }

    struct Token {
        var kind: Kind
        var text: String
        /// 1-based position of its first character.
        var position: Int
    }

    private let tokens: [Token]
    private var index = 0

    init(_ text: String) { tokens = Self.lex(text) }

    static func lex(_ text: String) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }
        func isSpecial(_ c: Unicode.Scalar) -> Bool { "=!(),<>".unicodeScalars.contains(c) }
        while true {
            while i < chars.count, isBlank(chars[i]) { i += 1 }
            guard i < chars.count else {
                tokens.append(Token(kind: .end, text: "", position: chars.count + 1))
                return tokens
            }
            let start = i
            let kind: Kind
            if isSpecial(chars[i]) {
                let c = chars[i]
                if c == "=" || c == "!", i + 1 < chars.count, chars[i + 1] == "=" {
                    kind = c == "=" ? .doubleEquals : .notEquals
                    i += 2
                } else {
                    switch c {
                    case "=": kind = .equals
                    case "!": kind = .not
                    case "(": kind = .open
                    case ")": kind = .close
                    case ",": kind = .comma
                    case "<": kind = .less
                    default: kind = .greater
                    }
                    i += 1
                }
            } else {
                while i < chars.count, !isBlank(chars[i]), !isSpecial(chars[i]) { i += 1 }
                kind = .identifier
            }
            var word = String.UnicodeScalarView()
            word.append(contentsOf: chars[start..<i])
            let text = String(word)
            let keyword: Kind? = kind == .identifier ? (text == "in" ? .in : text == "notin" ? .notIn : nil) : nil
            tokens.append(Token(kind: keyword ?? kind, text: text, position: start + 1))
        }
    }

    /// The next token; in a value context `in` and `notin` are identifiers.
    private func peek(value: Bool = true) -> Token {
        var t = tokens[min(index, tokens.count - 1)]
        if value, t.kind == .in || t.kind == .notIn { t.kind = .identifier }
        return t
    }

    private mutating func next(value: Bool = true) -> Token {
        let t = peek(value: value)
        index = min(index + 1, tokens.count - 1)
        return t
    }

    private static func found(_ t: Token) -> String { t.kind == .end ? "the end" : "'\(t.text)'" }

    private static func error(_ expected: String, _ t: Token) -> ClaiflowError {
        ClaiflowError(.invalidArgument, "selector: expected \(expected) at position \(t.position), found \(found(t))")
    }

    mutating func parse() throws(ClaiflowError) -> [LabelSelector.Requirement] {
        var requirements: [LabelSelector.Requirement] = []
        if peek().kind == .end { return [] }
        while true {
            requirements.append(try requirement())
            let t = next()
            switch t.kind {
            case .end: return requirements
            case .comma:
                let n = peek()
                guard n.kind == .identifier || n.kind == .not else {
                    throw Self.error("a label key or '!' after ','", n)
                }
            default: throw Self.error("',' or the end", t)
            }
        }
    }

    private mutating func requirement() throws(ClaiflowError) -> LabelSelector.Requirement {
        var t = next()
        let negated = t.kind == .not
        if negated { t = next() }
        guard t.kind == .identifier else { throw Self.error(negated ? "a label key after '!'" : "a label key or '!'", t) }
        if let problem = LabelSyntax.keyProblem(t.text) {
            throw ClaiflowError(
                .invalidArgument, "selector: invalid label key '\(t.text)' at position \(t.position): \(problem)")
        }
        let key = t.text
        if negated { return LabelSelector.Requirement(key: key, operator: .doesNotExist) }
        if [.end, .comma].contains(peek().kind) { return LabelSelector.Requirement(key: key, operator: .exists) }
        let op = next(value: false)
        switch op.kind {
        case .equals, .doubleEquals:
            return LabelSelector.Requirement(key: key, operator: .equals, values: [try exactValue()])
        case .notEquals:
            return LabelSelector.Requirement(key: key, operator: .notEquals, values: [try exactValue()])
        case .in:
            return LabelSelector.Requirement(key: key, operator: .in, values: try valueSet())
        case .notIn:
            return LabelSelector.Requirement(key: key, operator: .notIn, values: try valueSet())
        case .less, .greater:
            throw ClaiflowError(
                .invalidArgument,
                "selector: the operator '\(op.text)' at position \(op.position) is not supported; use =, ==, !=, in or notin")
        default:
            throw Self.error("an operator (=, ==, !=, in, notin), ',' or the end", op)
        }
    }

    /// The value after `=`, `==` or `!=`: nothing (the empty value) before `,` or the end.
    private mutating func exactValue() throws(ClaiflowError) -> String {
        if [.end, .comma].contains(peek().kind) { return "" }
        let t = next()
        guard t.kind == .identifier else { throw Self.error("a value", t) }
        try Self.checkValue(t)
        return t.text
    }

    /// `( v1, v2, … )`, where an omitted value is the empty value and `()` is `("")`.
    private mutating func valueSet() throws(ClaiflowError) -> [String] {
        let open = next()
        guard open.kind == .open else { throw Self.error("'('", open) }
        var values: [String] = []
        if peek().kind == .close {
            _ = next()
            return [""]
        }
        var expectingValue = true
        while true {
            let t = next()
            switch t.kind {
            case .identifier where expectingValue:
                try Self.checkValue(t)
                values.append(t.text)
                expectingValue = false
            case .comma:
                if expectingValue { values.append("") }
                expectingValue = true
            case .close:
                if expectingValue { values.append("") }
                return values
            default:
                throw Self.error(expectingValue ? "a value, ',' or ')'" : "',' or ')'", t)
            }
        }
    }

    private static func checkValue(_ t: Token) throws(ClaiflowError) {
        if let problem = LabelSyntax.valueProblem(t.text) {
            throw ClaiflowError(.invalidArgument, "selector: invalid value '\(t.text)' at position \(t.position): \(problem)")
        }
    }
}
