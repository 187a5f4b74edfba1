/// A setting's value as text, with the source it came from, for error messages: the flag
/// (`--port`), the environment variable (`CLAIFLOW_PORT`) or the file and key (`claiflow.yaml: port`).
public struct SettingValue: Sendable, Equatable {
    /// The value as written.
    public var text: String
    /// Where the value came from.
    public var source: String

    /// Creates a value.
    public init(text: String, source: String) {
        self.text = text
        self.source = source
    }
}
