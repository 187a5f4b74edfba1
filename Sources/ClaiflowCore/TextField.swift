/// The rule every text an operator or an agent sends must follow before it is stored: no
/// U+0000 (NUL). PostgreSQL cannot store NUL in a text column and SQLite can, so checking it
/// here, before any store is reached, gives the same answer on both: a 400 naming the field.
///
/// JSON values (service inputs, templates) are stored serialized, where a NUL is the escape
/// `\u0000`, so they need no check; an agent's report text is stored losslessly instead.
public enum TextField {
    /// Throws a 400 naming `field` when `value` contains U+0000.
    public static func check(_ value: String, field: String) throws(ClaiflowError) {
        if containsNUL(value) {
            throw ClaiflowError.invalidField(field, "must not contain the NUL character (U+0000)")
        }
    }

    /// Whether `value` contains U+0000.
    public static func containsNUL(_ value: String) -> Bool { value.utf8.contains(0) }
}
