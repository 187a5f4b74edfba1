import ClaiflowCore

/// How an agent's report text — a step's `error` (the status row's message) and a service's
/// `result` — is kept losslessly in a text column, the same way on both stores.
///
/// An agent may report any text, including U+0000 (NUL), which PostgreSQL cannot store in a
/// text column. Text without NUL is stored as it is. Text with a NUL (or, to stay unambiguous,
/// text starting with U+0001) is stored as U+0001 followed by the text as a JSON string literal,
/// where a NUL is the escape `\u0000`; reading undoes it, so the text reads back exactly as sent.
enum ReportText {
    /// The first character of an encoded text: U+0001, which ordinary text does not start with.
    static let marker: UInt8 = 0x01

    /// The text as stored.
    static func encode(_ text: String) -> String {
        guard text.utf8.first == marker || TextField.containsNUL(text) else { return text }
        var out = "\u{1}"
        JSONValue.writeString(text, into: &out)
        return out
    }

    /// The text as reported, from the stored text.
    static func decode(_ stored: String) -> String {
        guard stored.utf8.first == marker, case .string(let text)? = try? JSONValue.parse(Array(stored.utf8.dropFirst()))
        else { return stored }
        return text
    }
}
