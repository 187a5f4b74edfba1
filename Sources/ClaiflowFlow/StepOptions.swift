import ClaiflowCore
import ClaiflowJQ

/// The flow language v2 options a step may carry besides its kind: `$retry`, `$timeout`,
/// `$on_failure` with `$continue`, and `$result` (see `docs/flow.md`).
struct StepOptions: Sendable {
    /// `$retry` (command steps only).
    var retry: RetryPolicy?
    /// `$timeout`: how long one attempt of the step may run.
    var timeout: StepTimeout?
    /// `$on_failure`: the steps that run when the step fails (not when it is canceled).
    var onFailure: [FlowStep]?
    /// `$continue`: whether the flow goes on when the handler succeeds.
    var continueAfterHandler = false
    /// `$result` (command steps only): a jq filter applied to the command's outputs.
    var result: JQProgram?

    /// No option: a step as the original language wrote it.
    static let none = StepOptions()
}

/// `"$timeout": "30s"`: a positive duration, with its text for messages.
struct StepTimeout: Sendable {
    var duration: Duration
    /// The duration as written (`30s`), used in "timed out after 30s".
    var text: String
}
