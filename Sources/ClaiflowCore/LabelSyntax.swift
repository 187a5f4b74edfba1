/// The syntax of Kubernetes labels, which cluster labels and label selectors follow.
///
/// - A key is an optional prefix and `/`, then a name. The name is 1–63 characters of
///   `[A-Za-z0-9._-]` starting and ending with a letter or digit; the prefix is a lowercase
///   RFC 1123 DNS subdomain of at most 253 characters (`example.com`).
/// - A value is empty, or 1–63 characters with the name's rule.
public enum LabelSyntax {
    /// The longest name part of a key, and the longest value.
    public static let maxNameLength = 63
    /// The longest prefix of a key.
    public static let maxPrefixLength = 253

    /// Why `key` is not a valid label key, or nil when it is.
    public static func keyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return nameProblem(Substring(key))
        case 2:
            if parts[0].isEmpty { return "the prefix before '/' must not be empty" }
            if let p = prefixProblem(parts[0]) { return p }
            return nameProblem(parts[1])
        default:
            return "a key is an optional DNS subdomain prefix and '/', then a name: it has at most one '/'"
        }
    }

    /// Why `value` is not a valid label value, or nil when it is.
    public static func valueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > maxNameLength { return "a value must be at most \(maxNameLength) characters" }
        if !isNameLike(value.utf8) {
            return
                "a value must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character"
        }
        return nil
    }

    private static func nameProblem(_ name: Substring) -> String? {
        if name.isEmpty { return "the name part must not be empty" }
        if name.utf8.count > maxNameLength { return "the name part must be at most \(maxNameLength) characters" }
        if !isNameLike(name.utf8) {
            return
                "the name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character"
        }
        return nil
    }

    private static func prefixProblem(_ prefix: Substring) -> String? {
        if prefix.utf8.count > maxPrefixLength { return "the prefix must be at most \(maxPrefixLength) characters" }
        let valid = prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            let bytes = Array(part.utf8)
            guard let first = bytes.first, let last = bytes.last else { return false }
            return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
                && bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
        if !valid {
            return
                "the prefix must be a lowercase RFC 1123 subdomain: parts of lowercase alphanumeric characters or '-', separated by '.', each starting and ending with an alphanumeric character"
        }
        return nil
    }

    private static func isNameLike(_ bytes: some Collection<UInt8>) -> Bool {
        guard let first = bytes.first, isAlphanumeric(first), let last = bytes.reversed().first, isAlphanumeric(last)
        else { return false }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }

    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
}
