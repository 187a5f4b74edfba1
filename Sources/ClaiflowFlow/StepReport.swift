import ClaiflowCore

/// The status of a top-level step in a report, with the numbers the agent protocol uses on the
/// wire (the server's `processing`, `succeeded` and `failed` status values).
public enum StepStatus: Int, Sendable, Codable, CaseIterable {
    /// The step started.
    case processing = 2
    /// The step finished; the report carries its result string.
    case succeeded = 4
    /// The step failed; the report carries the error text and the flow stops.
    case failed = 8
}

/// One status update about a top-level step, exactly what the agent sends to the server
/// (`UpdateServiceStatus`: sequence, status, result, started, ended, error).
///
/// A run reports, for each top-level step `i` in order, `processing` and then either
/// `succeeded` (with ``result``) or `failed` (with ``error``, after which nothing more is
/// reported). Steps nested in `$range` produce no reports of their own.
public struct StepReport: Sendable, Equatable, Codable {
    /// The 0-based index of the top-level step.
    public var sequence: Int
    /// The `$id` of the top-level step (not sent on the wire; useful for logs).
    public var stepID: String
    /// What happened.
    public var status: StepStatus
    /// For `succeeded`: the JSON text of the step's outputs (`"hello world"` with its quotes,
    /// `[1,4,9]`, `{"a":1}`, `null`). Empty otherwise.
    public var result: String
    /// For `failed`: the error text. Empty otherwise.
    public var error: String
    /// When the step started.
    public var started: Timestamp
    /// When the step ended; nil for `processing` (the wire's zero time).
    public var ended: Timestamp?

    /// Creates a report.
    public init(
        sequence: Int, stepID: String, status: StepStatus, result: String = "", error: String = "",
        started: Timestamp, ended: Timestamp?
    ) {
        self.sequence = sequence
        self.stepID = stepID
        self.status = status
        self.result = result
        self.error = error
        self.started = started
        self.ended = ended
    }
}

/// How a whole run ended.
public struct FlowOutcome: Sendable, Equatable {
    /// The final state of a run.
    public enum Status: String, Sendable, Codable {
        /// Every top-level step succeeded.
        case succeeded
        /// A step failed (or a `$inputs` reference of a top-level step could not be resolved
        /// before the first step, reported as a failure of step 0).
        case failed
        /// Cancellation was observed at a step boundary.
        case canceled
    }

    /// How the run ended.
    public var status: Status
    /// For `succeeded`: the service result, i.e. the result string of the last top-level step.
    public var result: String?
    /// For `failed` (and `canceled` inside a step): the error text of the failed step.
    public var error: String?
    /// Every report produced, in order (the same values passed to `onStep`).
    public var reports: [StepReport]

    /// Creates an outcome.
    public init(status: Status, result: String? = nil, error: String? = nil, reports: [StepReport]) {
        self.status = status
        self.result = result
        self.error = error
        self.reports = reports
    }
}
