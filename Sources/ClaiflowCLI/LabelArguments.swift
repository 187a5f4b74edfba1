/// Labels given on the command line: `key=value` to set, `key-` to remove.
public enum LabelArguments {
    /// `key=value` pairs as labels.
    public static func parse(_ pairs: [String]) throws -> [String: String] {
        try apply(pairs, to: [:], allowRemoval: false)
    }

    /// `labels` with the changes applied.
    public static func apply(
        _ changes: [String], to labels: [String: String], allowRemoval: Bool = true
    ) throws -> [String: String] {
        var labels = labels
        for change in changes {
            if let eq = change.firstIndex(of: "="), eq != change.startIndex {
                labels[String(change[..<eq])] = String(change[change.index(after: eq)...])
            } else if allowRemoval, change.hasSuffix("-"), change.count > 1 {
                labels[String(change.dropLast())] = nil
            } else {
                throw CLIError.usage("a label is key=value\(allowRemoval ? " (or key- to remove it)" : ""), got \"\(change)\"")
            }
        }
        return labels
    }
}
