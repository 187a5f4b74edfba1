import ClaiflowCore

/// A form of the s-expression syntax of `q`. `'x` is read as `(quote x)`.
indirect enum SExpr {
    /// A string literal; its content is taken verbatim (escapes are not decoded).
    case string(String)
    /// An unsigned decimal number literal, kept as its text.
    case number(String)
    case symbol(String)
    case list([SExpr])

    /// A short description for error messages.
    var display: String {
        switch self {
        case .string(let s): "string \(quoted(s))"
        case .number(let n): "number \(n)"
        case .symbol(let s): "symbol \(quoted(s))"
        case .list(let items):
            if case .symbol(let head)? = items.first { "form (\(quoted(head).dropFirst().dropLast()) …)" } else { "a list" }
        }
    }
}

/// Reads the s-expression syntax: `program := form+`, with `;` comments.
struct SExprReader {
    /// The deepest nesting of lists and quotes accepted by the reader.
    static let maxDepth = 128

    private let scalars: [Unicode.Scalar]
    private var index = 0

    private init(_ text: String) {
        self.scalars = Array(text.unicodeScalars)
    }

    /// Reads all top-level forms of a program.
    static func read(_ text: String) throws(ClaiflowError) -> [SExpr] {
        var reader = SExprReader(text)
        var forms: [SExpr] = []
        while true {
            reader.skipAtmosphere()
            guard reader.index < reader.scalars.count else { break }
            forms.append(try reader.readForm(depth: 0))
        }
        guard !forms.isEmpty else {
            throw ClaiflowError(.invalidArgument, "expected at least one form like (eq column value)")
        }
        return forms
    }

    private static func isDelimiter(_ c: Unicode.Scalar) -> Bool {
        c == "(" || c == ")" || c == ";" || c == "\"" || c == "'" || c.properties.isWhitespace
    }

    /// Skips whitespace and `;` comments.
    private mutating func skipAtmosphere() {
        while index < scalars.count {
            let c = scalars[index]
            if c.properties.isWhitespace {
                index += 1
            } else if c == ";" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            } else {
                return
            }
        }
    }

    private func error(_ message: String, at offset: Int) -> ClaiflowError {
        ClaiflowError(.invalidArgument, "invalid s-expression at offset \(offset): \(message)")
    }

    private mutating func readForm(depth: Int) throws(ClaiflowError) -> SExpr {
        let start = index
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels", at: start) }
        let c = scalars[index]
        switch c {
        case "(":
            index += 1
            var items: [SExpr] = []
            while true {
                skipAtmosphere()
                guard index < scalars.count else {
                    throw error("unbalanced parentheses: the '(' here is never closed", at: start)
                }
                if scalars[index] == ")" {
                    index += 1
                    return .list(items)
                }
                items.append(try readForm(depth: depth + 1))
            }
        case ")":
            throw error("unbalanced parentheses: unexpected ')'", at: start)
        case "'":
            index += 1
            skipAtmosphere()
            guard index < scalars.count, scalars[index] != ")" else {
                throw error("a quote (') must be followed by a form", at: start)
            }
            return .list([.symbol("quote"), try readForm(depth: depth + 1)])
        case "\"":
            index += 1
            var content = String.UnicodeScalarView()
            while true {
                guard index < scalars.count else { throw error("unterminated string", at: start) }
                let s = scalars[index]
                if s == "\"" {
                    index += 1
                    return .string(String(content))
                }
                content.append(s)
                index += 1
                if s == "\\" {
                    guard index < scalars.count else { throw error("unterminated string", at: start) }
                    content.append(scalars[index])
                    index += 1
                }
            }
        default:
            // An atom: the maximal run of non-delimiters. It is a number only when the whole
            // run is `[digits] "." digits | digits`, so `0a1b2c` is one symbol.
            while index < scalars.count, !Self.isDelimiter(scalars[index]) { index += 1 }
            let text = String(String.UnicodeScalarView(scalars[start..<index]))
            return Self.isNumber(text) ? .number(text) : .symbol(text)
        }
    }

    /// Whether an atom is `[digits] "." digits | digits`.
    static func isNumber(_ text: String) -> Bool {
        let u = Array(text.utf8)
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        guard let dot = u.firstIndex(of: UInt8(ascii: ".")) else {
            return !u.isEmpty && u.allSatisfy(isDigit)
        }
        let fraction = u[(dot + 1)...]
        return u[..<dot].allSatisfy(isDigit) && !fraction.isEmpty && fraction.allSatisfy(isDigit)
    }
}

/// Compiles s-expression forms into a `Condition`. There is no interpreter state: only the
/// condition operators are understood, everything else is an unsupported form.
struct SExprConditionCompiler {
    let builder: ConditionBuilder

    /// Compiles every top-level form (each must be a valid condition) and returns the last.
    func compile(_ forms: [SExpr]) throws(ClaiflowError) -> Condition {
        var last: Condition?
        for form in forms {
            last = try condition(form, depth: 1)
        }
        guard let result = last else {
            throw ClaiflowError(.invalidArgument, "expected at least one form like (eq column value)")
        }
        return result
    }

    private func condition(_ form: SExpr, depth: Int) throws(ClaiflowError) -> Condition {
        try ConditionBuilder.checkDepth(depth)
        guard case .list(let items) = form else {
            throw ClaiflowError(.invalidArgument, "expected a condition form like (eq column value), got \(form.display)")
        }
        guard let head = items.first else {
            throw ClaiflowError(.invalidArgument, "empty form (); expected a condition form like (eq column value)")
        }
        guard case .symbol(let name) = head else {
            throw ClaiflowError(.invalidArgument, "a form must start with an operator name, got \(head.display)")
        }
        guard let op = ConditionOperator(name: name) else {
            throw ClaiflowError(
                .invalidArgument,
                "unsupported form (\(quoted(name).dropFirst().dropLast()) …); supported operators: \(ConditionOperator.supportedList)"
            )
        }
        let opName = name.lowercased()
        let args = Array(items.dropFirst())
        switch op {
        case .and, .or:
            guard !args.isEmpty else {
                throw ClaiflowError(.invalidArgument, "operator \(opName) needs at least one condition")
            }
            var subs: [Condition] = []
            subs.reserveCapacity(args.count)
            for arg in args {
                subs.append(try condition(arg, depth: depth + 1))
            }
            if case .and = op { return .and(subs) }
            return .or(subs)
        case .not:
            guard args.count == 1 else {
                throw ClaiflowError(.invalidArgument, "operator not expects exactly 1 condition, got \(args.count)")
            }
            return .not(try condition(args[0], depth: depth + 1))
        case .compare(let cmp):
            guard args.count == 2 else {
                throw ClaiflowError(
                    .invalidArgument, "operator \(opName) expects 2 arguments (\(opName) column value), got \(args.count)")
            }
            let column = try columnName(args[0], opName: opName)
            return try builder.compare(cmp, column: column, value: try value(args[1], column: column, opName: opName))
        case .isNull:
            guard args.count == 1 else {
                throw ClaiflowError(.invalidArgument, "operator isnull expects 1 argument (isnull column), got \(args.count)")
            }
            return try builder.isNull(column: try columnName(args[0], opName: opName))
        case .inList:
            guard let first = args.first else {
                throw ClaiflowError(
                    .invalidArgument, "operator in expects (in column value…) or (in column '(value…)), got no arguments")
            }
            let column = try columnName(first, opName: opName)
            let valueForms = valueList(Array(args.dropFirst()))
            try builder.checkInListSize(column: column, count: valueForms.count)
            var raws: [RawValue] = []
            raws.reserveCapacity(valueForms.count)
            for form in valueForms {
                raws.append(try value(form, column: column, opName: opName))
            }
            return try builder.inList(column: column, values: raws)
        case .between:
            guard let first = args.first else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator between expects (between column low high) or (between column '(low high)), got no arguments")
            }
            let column = try columnName(first, opName: opName)
            let valueForms = valueList(Array(args.dropFirst()))
            try builder.checkBetweenArity(column: column, count: valueForms.count)
            return try builder.between(
                column: column,
                low: try value(valueForms[0], column: column, opName: opName),
                high: try value(valueForms[1], column: column, opName: opName))
        }
    }

    /// The forms of a value list: either the arguments themselves or, when the only argument is
    /// a quoted list `'(v1 v2 …)`, that list's elements.
    private func valueList(_ args: [SExpr]) -> [SExpr] {
        if args.count == 1, let quotedForm = unquote(args[0]), case .list(let items) = quotedForm {
            return items
        }
        return args
    }

    /// The form inside `(quote x)`, or nil when the form is not a quotation.
    private func unquote(_ form: SExpr) -> SExpr? {
        guard case .list(let items) = form, items.count == 2, case .symbol(let head) = items[0],
            head.lowercased() == "quote"
        else { return nil }
        return items[1]
    }

    /// The column named by a symbol or string argument (which must be in the schema).
    private func columnName(_ form: SExpr, opName: String) throws(ClaiflowError) -> String {
        switch form {
        case .symbol(let name), .string(let name):
            _ = try builder.columnType(name)
            return name
        default:
            throw ClaiflowError(
                .invalidArgument,
                "operator \(opName) expects a column name (symbol or string) as first argument, got \(form.display)")
        }
    }

    /// A value argument: a string, a number, a bare symbol (the string of its name) or a quoted
    /// atom.
    private func value(_ form: SExpr, column: String, opName: String) throws(ClaiflowError) -> RawValue {
        switch form {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .symbol(let s): return .string(s)
        case .list:
            if let inner = unquote(form) {
                switch inner {
                case .string(let s): return .string(s)
                case .number(let n): return .number(n)
                case .symbol(let s): return .string(s)
                case .list: break
                }
            }
            throw ClaiflowError(
                .invalidArgument,
                "operator \(opName) on column \(quoted(column)): a value must be a string, number or symbol, got \(form.display)")
        }
    }
}
