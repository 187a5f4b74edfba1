import ClaiflowCore

/// A value as the client wrote it, before coercion to the type of its column.
enum RawValue: Equatable {
    case null
    case bool(Bool)
    /// A decimal number, kept as its literal text.
    case number(String)
    case string(String)

    /// The value as shown in error messages.
    var display: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n
        case .string(let s): quoted(s)
        }
    }

    /// Coerces the value to the type of a column, or throws a 400 naming the column.
    func coerce(to type: ColumnType, column: String) throws(ClaiflowError) -> QueryValue {
        if case .string(let s) = self { try Self.checkNoNUL(s, column: column) }
        switch (self, type) {
        case (.null, _):
            return .null
        case (.string(let s), .text):
            return .text(s)
        case (.number(let n), .text):
            return .text(n)
        case (.bool(let b), .text):
            return .text(b ? "true" : "false")
        case (.number(let n), .integer):
            switch DecimalText.scaled(n, by: 0) {
            case .value(let v, exact: true): return .integer(v)
            case .value(_, exact: false): throw integerError(column, "")
            case .overflow: throw integerError(column, " (out of range)")
            case .invalid: throw integerError(column, "")
            }
        case (.string(let s), .integer):
            let t = trimmed(s)
            if let v = Int64(t) { return .integer(v) }
            if DecimalText.isSignedInteger(t) { throw integerError(column, " (out of range)") }
            throw integerError(column, "")
        case (.bool, .integer):
            throw integerError(column, "")
        case (.string(let s), .timestamp):
            guard let ts = Timestamp(parsing: s) else { throw timestampError(column, "") }
            return .timestamp(ts)
        case (.number(let n), .timestamp):
            switch DecimalText.scaled(n, by: 6) {
            case .value(let micros, _): return .timestamp(Timestamp(microseconds: micros))
            case .overflow: throw timestampError(column, " (out of range)")
            case .invalid: throw timestampError(column, "")
            }
        case (.bool, .timestamp):
            throw timestampError(column, "")
        }
    }

    /// A 400 for a string value holding U+0000, which no column can hold (PostgreSQL refuses it
    /// in text; SQLite would compare it), so both stores give the same answer.
    static func checkNoNUL(_ s: String, column: String) throws(ClaiflowError) {
        if TextField.containsNUL(s) {
            throw ClaiflowError(
                .invalidArgument, "the value for column \(quoted(column)) must not contain the NUL character (U+0000)")
        }
    }

    private func integerError(_ column: String, _ suffix: String) -> ClaiflowError {
        ClaiflowError(.invalidArgument, "column \(quoted(column)) expects an integer, got \(display)\(suffix)")
    }

    private func timestampError(_ column: String, _ suffix: String) -> ClaiflowError {
        ClaiflowError(
            .invalidArgument,
            "column \(quoted(column)) expects a timestamp (RFC 3339 like \"2024-01-01T00:00:00Z\", "
                + "\"YYYY-MM-DD HH:MM:SS\", \"YYYY-MM-DD\" or a number of Unix seconds), got \(display)\(suffix)")
    }
}

/// Exact arithmetic on decimal number literals (no floating point), so that large integers and
/// fractional Unix seconds keep every digit.
enum DecimalText {
    /// The result of scaling a decimal literal to an integer.
    enum Scaled: Equatable {
        /// The text is not a decimal number.
        case invalid
        /// The value does not fit in an Int64.
        case overflow(negative: Bool)
        /// The value truncated toward zero; `exact` is false when digits were dropped.
        case value(Int64, exact: Bool)
    }

    /// Whether text is an optionally signed run of ASCII digits.
    static func isSignedInteger(_ text: String) -> Bool {
        var u = Substring(text).utf8[...]
        if let f = u.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") { u = u.dropFirst() }
        return !u.isEmpty && u.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Parses `[+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?` and returns the value
    /// multiplied by 10^scale, truncated toward zero.
    static func scaled(_ text: String, by scale: Int) -> Scaled {
        let b = Array(text.utf8)
        var i = 0
        func isDigit(_ i: Int) -> Bool { i < b.count && b[i] >= 0x30 && b[i] <= 0x39 }
        var negative = false
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = []
        var intCount = 0
        var fracCount = 0
        while isDigit(i) {
            digits.append(b[i] - 0x30)
            intCount += 1
            i += 1
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while isDigit(i) {
                digits.append(b[i] - 0x30)
                fracCount += 1
                i += 1
            }
        }
        guard intCount + fracCount > 0 else { return .invalid }
        var exponent = 0
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                expNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { return .invalid }
            while isDigit(i) {
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(b[i] - 0x30) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        guard i == b.count else { return .invalid }

        guard let firstNonZero = digits.firstIndex(where: { $0 != 0 }) else { return .value(0, exact: true) }
        let significant = digits[firstNonZero...]
        let shift = exponent - fracCount + scale
        var kept: [UInt8]
        var exact = true
        if shift >= 0 {
            guard significant.count + shift <= 19 else { return .overflow(negative: negative) }
            kept = Array(significant) + Array(repeating: 0, count: shift)
        } else {
            let drop = -shift
            if drop >= significant.count {
                return .value(0, exact: false)
            }
            kept = Array(significant.dropLast(drop))
            exact = significant.suffix(drop).allSatisfy { $0 == 0 }
        }
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        for d in kept {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2, s <= limit else { return .overflow(negative: negative) }
            magnitude = s
        }
        if negative {
            return .value(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude), exact: exact)
        }
        return .value(Int64(magnitude), exact: exact)
    }
}

/// Text with surrounding whitespace (including newlines) removed.
func trimmed(_ s: String) -> String {
    let scalars = s.unicodeScalars
    guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(scalars[start...end])
}

/// A client-supplied string in double quotes for an error message: quotes, backslashes and
/// control characters escaped, and cut after 64 characters so that a hostile value cannot blow
/// up the message.
func quoted(_ s: String) -> String {
    let maxScalars = 64
    var out = "\""
    var count = 0
    for scalar in s.unicodeScalars {
        if count == maxScalars {
            out += "…"
            break
        }
        count += 1
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
