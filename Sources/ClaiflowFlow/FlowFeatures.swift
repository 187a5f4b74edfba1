import ClaiflowCore

/// Which generation of the flow language a flow needs.
///
/// A flow that uses any construct of the flow language v2 (conditions, retries, timeouts,
/// parallel branches, failure handlers, result filters) cannot run on an agent built for the
/// original, which would ignore or reject those keys. The server computes ``usesV2(_:)`` once
/// when a service is created and stores it, so that dispatch never parses flows: such a service
/// is only delivered to an agent that runs v2 flows (`AgentVersion.runsFlowV2`).
public enum FlowFeatures {
    /// The keys that make a flow v2, wherever they appear in it.
    public static let v2Keys: Set<String> = [
        "$if", "$condition", "$retry", "$timeout", "$parallel", "$max_concurrency", "$on_failure", "$continue", "$result",
    ]

    /// Whether any object in the flow (a step, a nested step, anything below) has a v2 key.
    /// Keys are looked at, never values: a string `"$if"` in a command's inputs does not count.
    public static func usesV2(_ flow: JSONValue) -> Bool {
        switch flow {
        case .object(let fields):
            return fields.contains { key, value in v2Keys.contains(key) || usesV2(value) }
        case .array(let items):
            return items.contains(where: usesV2)
        default:
            return false
        }
    }

    /// ``usesV2(_:)`` of a flow's JSON text; false when it is not JSON (such a flow is refused
    /// at creation anyway).
    public static func usesV2(text: String) -> Bool {
        guard let json = try? JSONValue.parse(text) else { return false }
        return usesV2(json)
    }
}
