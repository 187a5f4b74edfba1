import ClaiflowCore

/// What the server needs to know about a flow: it is valid, how many top-level steps it has,
/// which commands it runs.
public struct FlowInfo: Sendable, Equatable {
    /// The number of top-level steps (the service's `step_max`).
    public var stepMax: Int
    /// The command names the flow uses.
    public var commands: [String]
    /// The flow re-serialized as compact JSON text.
    public var normalized: String
    /// Whether the flow uses a construct of the flow language v2 (`FlowFeatures`): only agents
    /// that run v2 flows may receive its services.
    public var usesFlowV2: Bool

    public init(stepMax: Int, commands: [String], normalized: String, usesFlowV2: Bool = false) {
        self.usesFlowV2 = usesFlowV2
        self.stepMax = stepMax
        self.commands = commands
        self.normalized = normalized
    }
}

/// A compiled JSON Schema for template inputs.
public protocol InputsSchema: Sendable {
    /// The violations of an inputs document, each naming the JSON pointer and the keyword; empty when valid.
    func violations(of inputs: JSONValue) -> [String]
}

/// Validates flows and input schemas for the template and service use cases. The real
/// implementation is backed by ClaiflowFlow and ClaiflowSchema.
public protocol FlowChecker: Sendable {
    /// Parses and validates a flow; throws a 400 naming the step and the reason.
    func check(flow: JSONValue) throws(ClaiflowError) -> FlowInfo
    /// Compiles an inputs schema; throws a 400 naming the pointer and the problem.
    func compile(schema: JSONValue) throws(ClaiflowError) -> any InputsSchema
}
