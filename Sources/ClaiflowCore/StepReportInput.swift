/// A step report as the agent sends it (checked by the agent use case).
public struct StepReportInput: Sendable, Equatable {
    /// The 0-based index of the top-level step.
    public var sequence: Int
    /// The step's status: `processing`, `succeeded` or `failed`.
    public var status: ServiceStatus
    /// The step's result text, if any.
    public var result: String?
    /// The step's error message, if any.
    public var error: String?
    /// When the step started (nil for the agent's "no time").
    public var started: Timestamp?
    /// When the step ended (nil for the agent's "no time").
    public var ended: Timestamp?

    public init(sequence: Int, status: ServiceStatus, result: String?, error: String?, started: Timestamp?, ended: Timestamp?) {
        self.sequence = sequence
        self.status = status
        self.result = result
        self.error = error
        self.started = started
        self.ended = ended
    }
}
