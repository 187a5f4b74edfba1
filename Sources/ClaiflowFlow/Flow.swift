import ClaiflowCore
import ClaiflowJQ

/// A parsed and validated flow: the JSON array of steps a template or service carries.
///
/// ```swift
/// let flow = try Flow.parse(#"[{"$id":"step1","$command":"helloworld","inputs":"$inputs"}]"#)
/// flow.stepMax        // 1
/// flow.commandNames   // ["helloworld"]
/// ```
///
/// Parsing checks everything that can be checked without running the flow: the shape of every
/// step, unique `$id`s per array, the syntax of every reference and that it names a step that
/// exists and comes before the referencing step (or encloses it, for `.key`/`.val`). Every error
/// is a ``ClaiflowError`` `.invalidArgument` whose message starts with the step's location and id,
/// e.g. `flow[1] (step "s2"): inputs.ns: reference "$s9.outputs": no step "s9" in this flow`.
/// See `docs/flow.md` for the language.
public struct Flow: Sendable {
    /// The top-level steps, in execution order.
    public let steps: [FlowStep]
    /// The flow JSON as given (the server stores it verbatim).
    public let source: JSONValue
    /// The distinct command names used anywhere in the flow (nested steps included), sorted.
    public let commandNames: [String]

    /// The number of top-level steps: the number of status reports with distinct sequence
    /// numbers a successful run produces. An iteration or a print counts as one step, whatever
    /// it contains.
    public var stepMax: Int { steps.count }

    init(steps: [FlowStep], source: JSONValue) {
        self.steps = steps
        self.source = source
        var names = Set<String>()
        func collect(_ steps: [FlowStep]) {
            for step in steps {
                if let command = step.command { names.insert(command) }
                collect(step.nestedSteps)
            }
        }
        collect(steps)
        self.commandNames = names.sorted()
    }

    /// Parses and validates a flow from its JSON text.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` for malformed JSON or an invalid flow.
    public static func parse(_ text: String) throws(ClaiflowError) -> Flow {
        let json: JSONValue
        do throws(ClaiflowError) {
            json = try JSONValue.parse(text)
        } catch {
            throw ClaiflowError(.invalidArgument, "flow: \(error.message)")
        }
        return try parse(json)
    }

    /// Parses and validates a flow given as decoded JSON (it must be an array of steps).
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the step and the reason.
    public static func parse(_ json: JSONValue) throws(ClaiflowError) -> Flow {
        try FlowParser().parseFlow(json)
    }
}

/// One step of a flow, as parsed.
public struct FlowStep: Sendable {
    /// The kinds of step.
    public enum Kind: String, Sendable {
        /// `$command`: runs a registered command with `inputs`.
        case command
        /// `$range` + `$steps`: runs the nested steps once per element.
        case range
        /// `$print`: outputs a summary of the steps of its array.
        case print
        /// `$if` (or `$condition`) + `$then` / `$else`: runs one branch.
        case condition
        /// `$parallel`: runs branches of steps at the same time.
        case parallel
    }

    /// The step's `$id` as text (a numeric id `1` becomes `"1"`).
    public let id: String
    /// Where the step is in the flow JSON, e.g. `flow[0].$steps[1]`.
    public let location: String
    let body: Body
    /// `$retry`, `$timeout`, `$on_failure`, `$continue`, `$result`.
    let options: StepOptions

    init(id: String, location: String, body: Body, options: StepOptions = .none) {
        self.id = id
        self.location = location
        self.body = body
        self.options = options
    }

    /// The kind of step.
    public var kind: Kind {
        switch body {
        case .command: .command
        case .range: .range
        case .print: .print
        case .condition: .condition
        case .parallel: .parallel
        }
    }

    /// The command name of a command step; nil for other kinds.
    public var command: String? {
        if case .command(let name, _) = body { return name }
        return nil
    }

    /// The nested steps of an iteration (`$steps`); empty for other kinds.
    public var steps: [FlowStep] {
        if case .range(_, let steps, _) = body { return steps }
        return []
    }

    /// Every step directly inside this one: iteration steps, condition and parallel branches,
    /// the `$on_failure` handler.
    var nestedSteps: [FlowStep] {
        var nested: [FlowStep]
        switch body {
        case .command, .print: nested = []
        case .range(_, let steps, _): nested = steps
        case .condition(let condition): nested = condition.then + condition.otherwise
        case .parallel(let branches, _): nested = branches.flatMap { $0 }
        }
        return nested + (options.onFailure ?? [])
    }

    enum Body: Sendable {
        case command(name: String, inputs: CommandInputs)
        /// `maxConcurrency`: how many iterations run at once (nil: one at a time, as the original).
        case range(source: ValueTemplate, steps: [FlowStep], maxConcurrency: Int?)
        case print(hide: HideList)
        case condition(Condition)
        /// `maxConcurrency`: how many branches run at once (nil: all).
        case parallel(branches: [[FlowStep]], maxConcurrency: Int?)
    }

    /// A `$if` step.
    struct Condition: Sendable {
        /// The jq program, run over `{inputs, steps}`.
        var program: JQProgram
        var then: [FlowStep]
        /// `$else` (empty when absent).
        var otherwise: [FlowStep]
    }

    /// A command step's `inputs`.
    enum CommandInputs: Sendable {
        /// No `inputs` key: the command gets no inputs.
        case none
        /// An object whose values may hold references.
        case object(ValueTemplate)
        /// A reference string that must resolve to an object (`"inputs": "$inputs"`).
        case reference(Reference)
    }

    /// A print step's `hide`.
    enum HideList: Sendable {
        case ids(Set<String>)
        /// A reference that must resolve to an array of ids.
        case reference(Reference)
    }
}
