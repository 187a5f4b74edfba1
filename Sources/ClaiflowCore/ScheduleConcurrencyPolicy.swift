/// What a schedule does at a tick while its previous run is still running.
public enum ScheduleConcurrencyPolicy: String, Sendable, CaseIterable, Codable {
    /// Start the new run anyway.
    case allow
    /// Skip the tick (recorded as the last skipped tick).
    case forbid
    /// Cancel the running run, then start the new one.
    case replace
}
