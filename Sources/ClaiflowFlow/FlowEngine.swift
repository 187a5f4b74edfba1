import ClaiflowCore

/// What a command receives when a command step runs.
public struct FlowCommandCall: Sendable {
    /// The command name (`$command`).
    public var command: String
    /// The full id of the running step: `step1`, or `it[2].c1` inside an iteration.
    public var stepID: String
    /// The fully resolved inputs object; nil when the step has no `inputs` key.
    public var inputs: JSONValue?

    /// Creates a call.
    public init(command: String, stepID: String, inputs: JSONValue?) {
        self.command = command
        self.stepID = stepID
        self.inputs = inputs
    }
}

/// A command implementation: gets the call, returns the step's outputs (any JSON value; a
/// string stays a JSON string), or throws to fail the step. The error text is the thrown
/// ``ClaiflowError``'s or ``FlowCommandError``'s message, or the error's description.
/// Throwing `CancellationError` ends the run as canceled.
public typealias FlowCommand = @Sendable (FlowCommandCall) async throws -> JSONValue

/// A simple error for commands to throw; its message becomes the step's error text.
public struct FlowCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error text.
    public var message: String

    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }

    /// The error text.
    public var description: String { message }
}

/// Runs flows against a set of commands and reports every top-level step.
///
/// ```swift
/// let engine = FlowEngine(commands: [
///     "helloworld": { call in
///         guard case .string(let name)? = call.inputs?.field("name") else { throw FlowCommandError("name is required") }
///         return .string("hello \(name)")
///     },
/// ])
/// let outcome = await engine.run(flow, inputs: inputs) { report in await send(report) }
/// ```
///
/// Semantics (see `docs/flow.md`): top-level steps run in order, one at a time. Before the first
/// step, the `$inputs` references of the top-level steps are resolved; a failure there is
/// reported as step 0 failed (started = ended) and nothing runs. Then each top-level step is
/// reported `processing`, then `succeeded` with its result string or `failed` with the error
/// text, which stops the run. Cancellation (`isCancelled`, or cancellation of the calling task)
/// is checked before every step, nested steps included, and again after a top-level step's
/// `processing` report, before the step runs: at a top-level boundary the run stops without a
/// further report; inside an iteration the current top-level step is reported failed
/// with "canceled". An engine holds no per-run state, so one engine can run many flows at once.
public struct FlowEngine: Sendable {
    /// The registered commands by name.
    public var commands: [String: FlowCommand]
    /// The clock used for `started` / `ended`.
    public var clock: @Sendable () -> Timestamp

    /// Creates an engine with commands and, optionally, a clock (tests).
    public init(commands: [String: FlowCommand], clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.commands = commands
        self.clock = clock
    }

    /// Runs a flow.
    ///
    /// - Parameters:
    ///   - flow: A parsed flow.
    ///   - inputs: The service inputs (normally an object), read by `$inputs` references.
    ///   - onStep: Called with every report, in order, before the run continues (so a caller
    ///     can send it and apply back-pressure).
    ///   - isCancelled: Asked at every step boundary; return true to stop the run.
    /// - Returns: How the run ended, with all reports.
    public func run(
        _ flow: Flow,
        inputs: JSONValue,
        onStep: @escaping @Sendable (StepReport) async -> Void = { _ in },
        isCancelled: @escaping @Sendable () async -> Bool = { false }
    ) async -> FlowOutcome {
        let execution = FlowRun(inputs: inputs, commands: commands, clock: clock, onStep: onStep, isCancelled: isCancelled)
        return await execution.runFlow(flow)
    }
}

/// Why a step stopped.
enum FlowFailure: Error, Sendable {
    /// The step failed with this text.
    case failed(String)
    /// The run was canceled (inside the step whose text is given).
    case canceled(String)

    var message: String {
        switch self {
        case .failed(let text), .canceled(let text): text
        }
    }
}
