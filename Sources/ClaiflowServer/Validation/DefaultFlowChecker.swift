import ClaiflowCore
import ClaiflowFlow
import ClaiflowSchema

/// The flow and schema checks backed by ClaiflowFlow and ClaiflowSchema.
///
/// Schemas without `$schema` are read as draft 2020-12: the original's templates use 2020-12
/// keywords (`dependentRequired`, `$defs`), which draft-07 would silently ignore.
public struct DefaultFlowChecker: FlowChecker {
    /// The options schemas are compiled with.
    public static let schemaOptions = JSONSchema.Options(defaultDraft: .draft2020_12)

    public init() {}

    public func check(flow: JSONValue) throws(ClaiflowError) -> FlowInfo {
        let parsed = try Flow.parse(flow)
        return FlowInfo(
            stepMax: parsed.stepMax, commands: parsed.commandNames, normalized: flow.serialized(),
            usesFlowV2: FlowFeatures.usesV2(flow))
    }

    public func compile(schema: JSONValue) throws(ClaiflowError) -> any InputsSchema {
        CompiledInputsSchema(schema: try JSONSchema.checked(schema, options: Self.schemaOptions))
    }
}

struct CompiledInputsSchema: InputsSchema {
    let schema: JSONSchema

    func violations(of inputs: JSONValue) -> [String] {
        schema.validate(inputs).prefix(20).map { "\($0.description) (keyword \"\($0.keyword)\")" }
    }
}
