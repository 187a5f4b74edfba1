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
        let execution = FlowRun(inputs: inputs, commands: commands, isCancelled: isCancelled)
        var reports: [StepReport] = []

        do throws(FlowFailure) {
            try execution.checkInputsReferences(of: flow.steps)
        } catch {
            let now = clock()
            let message = error.message
            let report = StepReport(
                sequence: 0, stepID: flow.steps.first?.id ?? "", status: .failed, error: message, started: now, ended: now)
            reports.append(report)
            await onStep(report)
            return FlowOutcome(status: .failed, error: message, reports: reports)
        }

        var lastResult = "null"
        for (sequence, step) in flow.steps.enumerated() {
            if await execution.cancellationRequested() {
                return FlowOutcome(status: .canceled, reports: reports)
            }
            let started = clock()
            let processing = StepReport(sequence: sequence, stepID: step.id, status: .processing, started: started, ended: nil)
            reports.append(processing)
            await onStep(processing)
            // The caller may refuse the step on its `processing` report (the server canceled the
            // service, or no longer holds it for this agent): then it must not run at all.
            if await execution.cancellationRequested() {
                return FlowOutcome(status: .canceled, reports: reports)
            }
            do throws(FlowFailure) {
                let outputs = try await execution.execute(step, prefix: [], siblings: flow.steps)
                let result = outputs.serialized()
                let report = StepReport(
                    sequence: sequence, stepID: step.id, status: .succeeded, result: result, started: started, ended: clock())
                reports.append(report)
                await onStep(report)
                lastResult = result
            } catch {
                let message = error.message
                let report = StepReport(
                    sequence: sequence, stepID: step.id, status: .failed, error: message, started: started, ended: clock())
                reports.append(report)
                await onStep(report)
                if case .canceled = error {
                    return FlowOutcome(status: .canceled, error: message, reports: reports)
                }
                return FlowOutcome(status: .failed, error: message, reports: reports)
            }
        }
        return FlowOutcome(status: .succeeded, result: lastResult, reports: reports)
    }
}

/// Why a step stopped.
enum FlowFailure: Error {
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
