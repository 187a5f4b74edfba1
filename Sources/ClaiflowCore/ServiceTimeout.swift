/// How long an agent may run a service once delivered (the `timeout` field of a service or run
/// create request): a Go duration from 1 s to 366 days. Past it the agent stops the service and
/// reports it failed ("timed out after 10m"); past it plus the server's grace period the server
/// fails it even if its agent vanished (``ServiceSweepRule``).
public struct ServiceTimeout: Sendable, Hashable, CustomStringConvertible {
    /// The shortest timeout accepted.
    public static let minimum = GoDuration.seconds(1)
    /// The longest timeout accepted.
    public static let maximum = GoDuration.seconds(366 * 24 * 3600)

    /// The duration.
    public var duration: GoDuration

    /// A timeout of `duration`; nil outside ``minimum``...``maximum``.
    public init?(_ duration: GoDuration) {
        guard duration >= Self.minimum, duration <= Self.maximum else { return nil }
        self.duration = duration
    }

    /// A timeout from the microseconds the store keeps (0: none).
    public init?(microseconds: Int64) {
        guard microseconds > 0 else { return nil }
        self.duration = GoDuration(nanoseconds: min(microseconds, Int64.max / 1000) * 1000)
    }

    /// The field of a create request; nil when absent or null. 400 naming `field` for anything
    /// but a duration string within the bounds.
    public static func parse(_ value: JSONValue?, field: String = "timeout") throws(ClaiflowError) -> ServiceTimeout? {
        guard let value, value != .null else { return nil }
        guard case .string(let text) = value, let d = GoDuration(parsing: text) else {
            throw ClaiflowError.invalidField(field, "must be a duration like \"90s\" or \"10m\", got \(value.serialized())")
        }
        guard let timeout = ServiceTimeout(d) else {
            throw ClaiflowError.invalidField(field, "must be between 1s and 366 days, got \"\(text)\"")
        }
        return timeout
    }

    /// The microseconds the store keeps.
    public var microseconds: Int64 { duration.nanoseconds / 1000 }

    /// Go's rendering without its trailing zero units: `10m`, `1h30m`, `90s` → `1m30s`, `1.5s`.
    public var description: String { Self.short(duration) }

    /// A duration as Go renders it, without trailing zero units (`10m0s` → `10m`, `2h0m0s` → `2h`).
    public static func short(_ d: GoDuration) -> String {
        var text = d.description
        if text.hasSuffix("m0s") { text.removeLast(2) }
        if text.hasSuffix("h0m") { text.removeLast(2) }
        return text
    }
}
