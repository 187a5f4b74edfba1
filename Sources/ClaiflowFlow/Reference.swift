import ClaiflowCore
import ClaiflowJQ

/// A reference resolved against the flow's structure at parse time: it names a value source
/// (the service inputs, or a slot of a step found by lexical lookup) and a jq path into it.
final class Reference: Sendable {
    /// What the reference reads.
    enum Target: Sendable {
        /// `$inputs<path>`: a path into the service inputs.
        case inputs([PathSegment])
        /// `$inputs.<jq>` where the text after `$inputs` is not a plain path: the original ran it
        /// as a jq filter over the inputs, and so does this implementation (first non-null output).
        case inputsFilter(JQProgram)
        /// `$step…`: a slot of a step, then a path.
        case step(StepTarget)
        /// `$error…` in an `$on_failure` handler: `{message, step, attempts}` of the failure of
        /// step `owner`, found in the array at instance depth `level`, then a path.
        case error(level: Int, owner: String, path: [PathSegment])
    }

    /// The reference as written (for messages).
    let text: String
    let target: Target

    init(text: String, target: Target) {
        self.text = text
        self.target = target
    }

    /// Whether the value depends only on the service inputs (no step values anywhere, including
    /// dynamic indexes). Such references are checked before the first step runs.
    var dependsOnInputsOnly: Bool {
        switch target {
        case .inputsFilter: return true
        case .inputs(let path): return path.allSatisfy(\.dependsOnInputsOnly)
        case .step, .error: return false
        }
    }
}

/// A step slot reached from the referencing step's scope.
struct StepTarget: Sendable {
    /// The nesting level (0 = top-level array) of the array that holds `root`; the runtime takes
    /// the referencing step's first `level` iteration instances as the prefix.
    var level: Int
    /// The id of the step found by lexical lookup.
    var root: String
    /// `[index].child` selections into iterations: `$it[0].$c1` → [(0, "c1")].
    var hops: [Hop]
    var slot: Slot
    var path: [PathSegment]
}

/// `[index].child` in a step selector.
struct Hop: Sendable {
    var index: IndexValue
    var child: String
}

/// An iteration instance index: a literal or a reference that must yield a non-negative integer.
enum IndexValue: Sendable {
    case literal(Int)
    case reference(Reference)
}

/// One component of a jq path (`getpath` semantics).
enum PathSegment: Sendable {
    /// `.name` / `["name"]`
    case key(String)
    /// `[3]` / `[-1]`
    case index(Int)
    /// `[$ref]`: a key (string) or index (number) computed at run time.
    case dynamic(Reference)

    var dependsOnInputsOnly: Bool {
        if case .dynamic(let reference) = self { return reference.dependsOnInputsOnly }
        return true
    }
}

/// A JSON value in which some strings are references, evaluated when the step runs.
indirect enum ValueTemplate: Sendable {
    /// A value without references (with `$$` escapes already turned into `$`).
    case literal(JSONValue)
    /// A reference string; `location` names where it is (`inputs.items[0]`) for messages.
    case reference(Reference, location: String)
    case array([ValueTemplate])
    case object([String: ValueTemplate])

    /// The value when the template holds no reference.
    var literalValue: JSONValue? {
        if case .literal(let value) = self { return value }
        return nil
    }

    /// Calls `body` with every reference (and its location) in the template, in document order.
    func forEachReference(_ body: (Reference, String) throws(FlowFailure) -> Void) throws(FlowFailure) {
        switch self {
        case .literal: return
        case .reference(let reference, let location): try body(reference, location)
        case .array(let elements):
            for element in elements { try element.forEachReference(body) }
        case .object(let members):
            for key in members.keys.sorted() { try members[key]?.forEachReference(body) }
        }
    }
}

/// Renders a location inside a value: `inputs` + key → `inputs.key` or `inputs["a-b"]`.
enum Location {
    static func appending(_ base: String, key: String) -> String {
        isIdentifier(key) ? "\(base).\(key)" : "\(base)[\(JSONValue.string(key).serialized())]"
    }

    static func appending(_ base: String, index: Int) -> String { "\(base)[\(index)]" }

    /// `[A-Za-z_][A-Za-z0-9_]*`
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ($0.value >= 48 && $0.value <= 57) }
    }

    private static func isLetter(_ c: Unicode.Scalar) -> Bool {
        (c.value >= 65 && c.value <= 90) || (c.value >= 97 && c.value <= 122)
    }

    /// A concrete jq path rendered for messages: `.items[0]["resource-version"]`.
    static func render(_ path: some Sequence<JSONValue>) -> String {
        var out = ""
        for component in path {
            switch component {
            case .string(let key): out = appending(out, key: key)
            case .integer(let i): out += "[\(i)]"
            default: out += "[\(component.serialized())]"
            }
        }
        return out.isEmpty ? "." : out
    }
}
