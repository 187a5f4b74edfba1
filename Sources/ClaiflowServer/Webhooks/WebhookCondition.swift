import ClaiflowCore
import ClaiflowJQ

/// The jq condition of a webhook, run on the JSON payload: send when it outputs at least one
/// boolean (or a string Go's `ParseBool` reads as one) and all of them are true. Runtime errors
/// and other outputs are ignored, as in the original.
struct WebhookCondition: Sendable {
    let program: JQProgram

    /// Compiles a filter; a filter that does not compile is a 400 naming `conditionFilter`.
    init(filter: String) throws(ClaiflowError) {
        do {
            program = try JQProgram(filter: filter.trimmingCharacters(in: .whitespaces).isEmpty ? "." : filter)
        } catch {
            throw ClaiflowError.invalidField("conditionFilter", error.message)
        }
    }

    func matches(_ payload: JSONValue) -> Bool {
        guard let outputs = try? program.run(payload) else { return false }
        var collected: [Bool] = []
        for o in outputs {
            switch o {
            case .bool(let b): collected.append(b)
            case .string(let s):
                switch s {
                case "1", "t", "T", "TRUE", "true", "True": collected.append(true)
                default: collected.append(false)
                }
            default: continue
            }
        }
        return !collected.isEmpty && collected.allSatisfy { $0 }
    }
}
