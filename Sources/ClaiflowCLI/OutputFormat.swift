/// `-o`: how a command prints what the server answered.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// Aligned columns with a header, status words and relative ages (the default).
    case table
    /// `table` with more columns.
    case wide
    /// The objects as JSON (indented, keys sorted), as the API returns them.
    case json
    /// The objects as YAML.
    case yaml
}
