import ClaiflowCore
import ClaiflowStore
import Synchronization

/// What a service create needs from its template, worked out once per template content: the
/// compiled inputs schema and the flow's facts (`step_max`, flow language v2).
struct CompiledTemplate: Sendable {
    /// The template's inputs schema, compiled.
    var schema: any InputsSchema
    /// The template's flow facts; nil when the stored flow does not check (the template needs fixing).
    var flow: FlowInfo?
}

/// Compiled templates by uuid, so that a service create neither parses the template's flow nor
/// compiles its schema again.
///
/// An entry is used only while the template row, read by the create, holds the very flow and
/// schema text the entry was made from: a template changed by any replica (or deleted and
/// created again under its uuid) is compiled again on its next use, whatever its `updated`
/// time says. Comparing the two texts costs far less than parsing them.
final class TemplateCache: Sendable {
    private struct Entry: Sendable {
        var flow: String
        var inputs: String
        var compiled: CompiledTemplate
    }

    /// The most templates kept; the cache starts over beyond it.
    static let capacity = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    /// The compiled form of `t`, from the cache when its flow and schema text are unchanged.
    /// Throws a 400 when its inputs schema does not compile.
    func compiled(_ t: Template, checker: any FlowChecker) throws(ClaiflowError) -> CompiledTemplate {
        if let hit = entries.withLock({ $0[t.uuid] }), hit.flow == t.flow, hit.inputs == t.inputs {
            return hit.compiled
        }
        let compiled = try Self.compile(t, checker: checker)
        entries.withLock { e in
            if e.count >= Self.capacity, e[t.uuid] == nil { e.removeAll() }
            e[t.uuid] = Entry(flow: t.flow, inputs: t.inputs, compiled: compiled)
        }
        return compiled
    }

    /// How many templates are cached.
    var count: Int { entries.withLock { $0.count } }

    private static func compile(_ t: Template, checker: any FlowChecker) throws(ClaiflowError) -> CompiledTemplate {
        let schema: any InputsSchema
        do {
            schema = try checker.compile(schema: try JSONValue.parse(t.inputs))
        } catch {
            throw ClaiflowError(.invalidArgument, "template \"\(t.uuid)\" has an invalid inputs schema: \(error.message)")
        }
        let flow: FlowInfo? =
            if let json = try? JSONValue.parse(t.flow) { try? checker.check(flow: json) } else { nil }
        return CompiledTemplate(schema: schema, flow: flow)
    }
}
