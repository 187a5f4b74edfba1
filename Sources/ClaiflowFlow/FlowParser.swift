import ClaiflowCore
import ClaiflowJQ

/// Builds a ``Flow`` from JSON: checks shapes, ids and references, and resolves every reference
/// against the lexical scope of the step that holds it.
struct FlowParser {
    /// What a step of an enclosing (or the current) array looks like, for reference lookup.
    struct ScopeEntry {
        var id: String?
        var kind: FlowStep.Kind?
        /// The raw `$steps` of an iteration.
        var children: [JSONValue]
        /// The raw step object.
        var object: [String: JSONValue] = [:]

        /// The steps of a parallel step's branches (and of parallel steps inside them), which
        /// later steps can read by id.
        var exposed: [ScopeEntry] {
            guard kind == .parallel, case .array(let branches)? = object["$parallel"] else { return [] }
            var entries: [ScopeEntry] = []
            for case .array(let steps) in branches {
                for entry in steps.map(FlowParser.scopeEntry) {
                    entries.append(entry)
                    entries += entry.exposed
                }
            }
            return entries
        }
    }

    /// What kind of array a frame is.
    enum FrameKind {
        /// The flow itself.
        case top
        /// The `$steps` of an iteration: one instance per element.
        case iteration
        /// `$then` or `$else` of a condition.
        case branch
        /// One branch of `$parallel`.
        case parallelBranch
        /// The `$on_failure` handler of the enclosing step.
        case handler
    }

    /// One array on the path from the top level to the referencing step.
    struct Frame {
        var entries: [ScopeEntry]
        /// The index, in this array, of the step that is (or contains) the referencing step.
        var position: Int
        var kind: FrameKind = .top
        /// How many iterations enclose this array (the length of its steps' instance prefix).
        var depth = 0
    }

    /// Where a reference is being parsed, for messages.
    struct Site {
        var location: String
        var stepID: String
    }

    func parseFlow(_ json: JSONValue) throws(ClaiflowError) -> Flow {
        guard case .array(let elements) = json else {
            throw ClaiflowError(.invalidArgument, "flow: must be a JSON array of steps, got \(json.typeName)")
        }
        guard !elements.isEmpty else {
            throw ClaiflowError(.invalidArgument, "flow: must contain at least one step")
        }
        let steps = try parseSteps(elements, path: "flow", frames: [], kind: .top, depth: 0)
        try Self.checkUniqueIDs(steps)
        return Flow(steps: steps, source: json)
    }

    // MARK: - Steps

    func parseSteps(
        _ elements: [JSONValue], path: String, frames: [Frame], kind: FrameKind, depth: Int
    ) throws(ClaiflowError) -> [FlowStep] {
        let entries = elements.map(Self.scopeEntry)
        var seen: [String: Int] = [:]
        var steps: [FlowStep] = []
        for (index, element) in elements.enumerated() {
            let location = "\(path)[\(index)]"
            guard case .object(let object) = element else {
                throw ClaiflowError(.invalidArgument, "\(location): a step must be a JSON object, got \(element.typeName)")
            }
            guard let rawID = object["$id"] else {
                throw ClaiflowError(.invalidArgument, "\(location): missing \"$id\"")
            }
            let id: String
            switch Self.formatID(rawID) {
            case .success(let text): id = text
            case .failure(let error): throw ClaiflowError(.invalidArgument, "\(location): \"$id\" \(error.reason)")
            }
            if let previous = seen[id] {
                throw Self.error(
                    Site(location: location, stepID: id), nil,
                    "duplicate \"$id\" (also used by \(path)[\(previous)]); ids must be unique within the same array")
            }
            seen[id] = index
            let scope = frames + [Frame(entries: entries, position: index, kind: kind, depth: depth)]
            steps.append(try parseStep(object, id: id, location: location, scope: scope))
        }
        return steps
    }

    private func parseStep(
        _ object: [String: JSONValue], id: String, location: String, scope: [Frame]
    ) throws(ClaiflowError) -> FlowStep {
        let site = Site(location: location, stepID: id)
        try Self.checkKeys(object, site: site)
        let body = try parseBody(object, id: id, location: location, scope: scope)
        let options = try parseOptions(object, body: body, location: location, site: site, scope: scope)
        return FlowStep(id: id, location: location, body: body, options: options)
    }

    private func parseBody(
        _ object: [String: JSONValue], id: String, location: String, scope: [Frame]
    ) throws(ClaiflowError) -> FlowStep.Body {
        let site = Site(location: location, stepID: id)
        if let command = object["$command"] {
            guard case .string(let name) = command, !name.isEmpty else {
                let got = command == .string("") ? "an empty string" : command.typeName
                throw Self.error(site, "$command", "must be a non-empty string (the command name), got \(got)")
            }
            let inputs: FlowStep.CommandInputs
            switch object["inputs"] {
            case nil:
                inputs = .none
            case .object?:
                inputs = .object(try template(object["inputs"] ?? .null, location: "inputs", site: site, scope: scope))
            case .string(let text)? where Self.isReference(text):
                inputs = .reference(try reference(text, field: "inputs", site: site, scope: scope))
            case let other?:
                let got = other.typeName == "string" ? "a string that is not a reference" : other.typeName
                throw Self.error(site, "inputs", "must be an object or a reference string such as \"$inputs\", got \(got)")
            }
            return .command(name: name, inputs: inputs)
        }
        if let range = object["$range"] {
            let source: ValueTemplate
            switch range {
            case .string(let text) where Self.isReference(text):
                source = .reference(try reference(text, field: "$range", site: site, scope: scope), location: "$range")
            case .array:
                source = try template(range, location: "$range", site: site, scope: scope)
            case .string:
                throw Self.error(
                    site, "$range", "must be an array or a reference string (starting with \"$\"), got a literal string")
            case .object:
                throw Self.error(site, "$range", "must be an array or a reference string; objects cannot be iterated")
            default:
                throw Self.error(site, "$range", "must be an array or a reference string, got \(range.typeName)")
            }
            let children: [FlowStep]
            switch object["$steps"] {
            case nil:
                children = []
            case .array(let elements)?:
                children = try parseSteps(
                    elements, path: "\(location).$steps", frames: scope, kind: .iteration, depth: (scope.last?.depth ?? 0) + 1)
            case let other?:
                throw Self.error(site, "$steps", "must be an array of steps, got \(other.typeName)")
            }
            let limit = try maxConcurrency(object, site: site)
            return .range(source: source, steps: children, maxConcurrency: limit)
        }
        if let print = object["$print"] {
            guard case .object(let options) = print else {
                throw Self.error(site, "$print", "must be an object such as {\"hide\": []}, got \(print.typeName)")
            }
            let hide: FlowStep.HideList
            switch options["hide"] {
            case nil:
                hide = .ids([])
            case .array(let elements)?:
                var ids = Set<String>()
                for (i, element) in elements.enumerated() {
                    switch Self.formatID(element) {
                    case .success(let text): ids.insert(text)
                    case .failure(let error): throw Self.error(site, "$print.hide[\(i)]", "a step id \(error.reason)")
                    }
                }
                hide = .ids(ids)
            case .string(let text)? where Self.isReference(text):
                hide = .reference(try reference(text, field: "$print.hide", site: site, scope: scope))
            case let other?:
                throw Self.error(site, "$print.hide", "must be an array of step ids or a reference string, got \(other.typeName)")
            }
            return .print(hide: hide)
        }
        if let body = try parseV2Body(object, location: location, site: site, scope: scope) { return body }
        throw Self.error(
            site, nil,
            "unknown step kind: a step needs one of \"$command\", \"$range\", \"$print\", \"$if\" or \"$parallel\"")
    }

    // MARK: - Templates and references

    /// Turns a JSON value into a template: strings starting with `$` are references, `$$…` is a
    /// literal string starting with `$`, everything else is literal. Object keys are never references.
    private func template(_ value: JSONValue, location: String, site: Site, scope: [Frame]) throws(ClaiflowError) -> ValueTemplate
    {
        switch value {
        case .string(let text):
            if text.hasPrefix("$$") { return .literal(.string(String(text.dropFirst()))) }
            if text.hasPrefix("$") {
                return .reference(try reference(text, field: location, site: site, scope: scope), location: location)
            }
            return .literal(value)
        case .array(let elements):
            var templates: [ValueTemplate] = []
            templates.reserveCapacity(elements.count)
            var literals: [JSONValue] = []
            for (i, element) in elements.enumerated() {
                let t = try template(element, location: Location.appending(location, index: i), site: site, scope: scope)
                templates.append(t)
                if let literal = t.literalValue { literals.append(literal) }
            }
            return literals.count == templates.count ? .literal(.array(literals)) : .array(templates)
        case .object(let members):
            var templates: [String: ValueTemplate] = [:]
            var literals: [String: JSONValue] = [:]
            for (key, member) in members {
                let t = try template(member, location: Location.appending(location, key: key), site: site, scope: scope)
                templates[key] = t
                if let literal = t.literalValue { literals[key] = literal }
            }
            return literals.count == templates.count ? .literal(.object(literals)) : .object(templates)
        default:
            return .literal(value)
        }
    }

    /// Parses and resolves one reference string.
    private func reference(_ text: String, field: String, site: Site, scope: [Frame]) throws(ClaiflowError) -> Reference {
        let syntax: ReferenceSyntax
        do throws(ReferenceSyntaxError) {
            syntax = try ReferenceParser.parse(text, allowError: scope.contains { $0.kind == .handler })
        } catch {
            // The original ran the text after "$inputs" as a jq program; keep accepting any jq
            // filter there (`$inputs.x // "default"`) when it is not a plain path.
            if text.hasPrefix("$inputs.") {
                do throws(ClaiflowError) {
                    let program = try JQProgramCache.shared.program(String(text.dropFirst("$inputs".count)))
                    return Reference(text: text, target: .inputsFilter(program))
                } catch let jqError {
                    let reason = "\(error.description); as a jq filter over the inputs it is not valid either: \(jqError.message)"
                    throw Self.error(site, field, "reference \(Self.quote(text)): \(reason)")
                }
            }
            var reason = error.description
            if !text.contains("."), !text.contains("[") {
                reason += "; to write a literal string that starts with \"$\", double it (\"$\(text)\")"
            }
            throw Self.error(site, field, "reference \(Self.quote(text)): \(reason)")
        }
        do throws(ResolutionError) {
            return try resolve(syntax, scope: scope)
        } catch {
            throw Self.error(site, field, "reference \(Self.quote(error.reference)): \(error.reason)")
        }
    }

    struct ResolutionError: Error {
        var reference: String
        var reason: String
    }

    private func resolve(_ syntax: ReferenceSyntax, scope: [Frame]) throws(ResolutionError) -> Reference {
        var path: [PathSegment] = []
        for segment in syntax.path {
            switch segment {
            case .key(let key): path.append(.key(key))
            case .index(.integer(let i)): path.append(.index(i))
            case .index(.string(let key)): path.append(.key(key))
            case .index(.reference(let nested)): path.append(.dynamic(try resolve(nested, scope: scope)))
            }
        }
        switch syntax.root {
        case .inputs:
            return Reference(text: syntax.text, target: .inputs(path))
        case .step(let selector):
            let target = try resolveStep(selector, path: path, text: syntax.text, scope: scope)
            return Reference(text: syntax.text, target: .step(target))
        case .error:
            guard let h = scope.lastIndex(where: { $0.kind == .handler }), h > 0,
                let owner = scope[h - 1].entries[scope[h - 1].position].id
            else { throw ResolutionError(reference: syntax.text, reason: "$error is only available in an $on_failure handler") }
            return Reference(text: syntax.text, target: .error(level: scope[h - 1].depth, owner: owner, path: path))
        }
    }

    /// Finds the step a selector names. Lookup goes from the top-level array inwards (so a plain
    /// `$x` means the top-level `x` when there is one, as in the original) and only sees steps
    /// that come before the referencing step, or the iterations that enclose it.
    private func resolveStep(
        _ selector: ReferenceSyntax.StepSelector, path: [PathSegment], text: String, scope: [Frame]
    ) throws(ResolutionError) -> StepTarget {
        func fail(_ reason: String) -> ResolutionError { ResolutionError(reference: text, reason: reason) }
        let root = selector.root
        var found: (level: Int, entry: ScopeEntry, enclosing: Bool)?
        search: for (level, frame) in scope.enumerated() {
            for (i, entry) in frame.entries.enumerated() {
                if entry.id == root {
                    if i < frame.position {
                        found = (level, entry, false)
                        break search
                    }
                    if i == frame.position && level < scope.count - 1 {
                        found = (level, entry, true)
                        break search
                    }
                } else if i < frame.position, let inner = entry.exposed.first(where: { $0.id == root }) {
                    found = (level, inner, false)
                    break search
                }
            }
        }
        guard let found else {
            for (level, frame) in scope.enumerated() {
                for (i, entry) in frame.entries.enumerated() where entry.id == root {
                    if level == scope.count - 1 && i == frame.position {
                        throw fail("a step cannot refer to itself")
                    }
                    if i > frame.position {
                        throw fail("step \"\(root)\" comes later in the flow; a reference can only read steps that ran before")
                    }
                }
            }
            if let place = scope.first.flatMap({ Self.hiddenPlace(of: root, in: $0.entries) }) {
                throw fail(place)
            }
            if let path = scope.first.flatMap({ Self.nestedPath(to: root, in: $0.entries) }) {
                throw fail(
                    "step \"\(root)\" is nested in iteration \"\(path)\" and cannot be read directly from here; "
                        + "select an iteration as in \"$\(path)[0].$\(root).outputs\"")
            }
            if selector.hops.isEmpty, !text.contains(".") {
                throw fail(
                    "no step \"\(root)\" in this flow; to write a literal string that starts with \"$\", double it (\"$\(text)\")"
                )
            }
            throw fail("no step \"\(root)\" in this flow")
        }

        var hops: [Hop] = []
        var current = found.entry
        var currentName = root
        var enclosing = found.enclosing
        // How the referencing step sits inside an enclosing step: in its iteration, a branch or its handler.
        let via = found.enclosing ? scope[found.level + 1].kind : nil
        if via == .handler {
            switch (found.entry.kind, selector.slot) {
            case (_, .outputs) where selector.hops.isEmpty:
                throw fail("step \"\(root)\" failed before its $on_failure handler runs, so it has no outputs; read $error")
            default: enclosing = false
            }
        }
        for hop in selector.hops {
            guard current.kind == .range else {
                throw fail("step \"\(currentName)\" is not an iteration, so \"\(currentName)[…]\" selects nothing")
            }
            let index: IndexValue
            switch hop.index {
            case .integer(let i):
                guard i >= 0 else { throw fail("the iteration index of \"\(currentName)\" must not be negative") }
                index = .literal(i)
            case .string(let s):
                throw fail("the iteration index of \"\(currentName)\" must be a number or a reference, got \"\(s)\"")
            case .reference(let nested):
                index = .reference(try resolve(nested, scope: scope))
            }
            guard let child = current.children.lazy.map(Self.scopeEntry).first(where: { $0.id == hop.child }) else {
                throw fail("iteration \"\(currentName)\" has no step \"\(hop.child)\"")
            }
            hops.append(Hop(index: index, child: hop.child))
            current = child
            currentName = "\(currentName)[…].\(hop.child)"
            enclosing = false
        }

        switch (current.kind, selector.slot) {
        case (.command?, .outputs), (.command?, .inputs), (.print?, .outputs):
            break
        case (.range?, .key), (.range?, .val):
            break
        case (.range?, .outputs):
            if enclosing {
                throw fail(
                    "iteration \"\(currentName)\" contains this step, so its outputs are not complete yet; use .key or .val")
            }
        case (.command?, _):
            throw fail("step \"\(currentName)\" is a command: it has .outputs and .inputs, not .\(selector.slot.rawValue)")
        case (.print?, _):
            throw fail("step \"\(currentName)\" is a print step: it has only .outputs")
        case (.condition?, .outputs), (.parallel?, .outputs):
            if enclosing {
                throw fail("step \"\(currentName)\" contains this step, so its outputs are not complete yet")
            }
        case (.condition?, _), (.parallel?, _):
            throw fail(
                "step \"\(currentName)\" is a \(current.kind == .condition ? "condition" : "parallel step"): it has only .outputs"
            )
        case (.range?, _):
            throw fail("step \"\(currentName)\" is an iteration: it has .key, .val and .outputs, not .\(selector.slot.rawValue)")
        case (nil, _):
            throw fail("step \"\(currentName)\" is not a valid step")
        }
        return StepTarget(level: scope[found.level].depth, root: root, hops: hops, slot: selector.slot, path: path)
    }

    // MARK: - Helpers

    /// The selector path (`it` or `o[0].$i`) of the iteration that holds a nested step `id`.
    private static func nestedPath(to id: String, in entries: [ScopeEntry]) -> String? {
        for entry in entries where entry.kind == .range {
            guard let name = entry.id else { continue }
            let children = entry.children.map(scopeEntry)
            if children.contains(where: { $0.id == id }) { return name }
            if let inner = nestedPath(to: id, in: children) { return "\(name)[0].$\(inner)" }
        }
        return nil
    }

    /// A shallow look at a step, enough to resolve references to it.
    static func scopeEntry(_ element: JSONValue) -> ScopeEntry {
        guard case .object(let object) = element else { return ScopeEntry(id: nil, kind: nil, children: []) }
        let id: String? = object["$id"].flatMap { if case .success(let s) = formatID($0) { s } else { nil } }
        if object["$command"] != nil { return ScopeEntry(id: id, kind: .command, children: [], object: object) }
        if object["$range"] != nil {
            var children: [JSONValue] = []
            if case .array(let elements)? = object["$steps"] { children = elements }
            return ScopeEntry(id: id, kind: .range, children: children, object: object)
        }
        if object["$print"] != nil { return ScopeEntry(id: id, kind: .print, children: [], object: object) }
        if object["$if"] != nil || object["$condition"] != nil {
            return ScopeEntry(id: id, kind: .condition, children: [], object: object)
        }
        if object["$parallel"] != nil { return ScopeEntry(id: id, kind: .parallel, children: [], object: object) }
        return ScopeEntry(id: id, kind: nil, children: [], object: object)
    }

    struct IDError: Error {
        var reason: String
    }

    /// A step id as text: a non-empty string, or a number (`1` → `"1"`).
    static func formatID(_ value: JSONValue) -> Result<String, IDError> {
        switch value {
        case .string(let s):
            return s.isEmpty ? .failure(IDError(reason: "must not be empty")) : .success(s)
        case .integer(let i):
            return .success(String(i))
        case .number:
            return .success(value.serialized())
        default:
            return .failure(IDError(reason: "must be a non-empty string or a number, got \(value.typeName)"))
        }
    }

    /// Whether a string value is a reference (starts with `$` but not `$$`).
    static func isReference(_ text: String) -> Bool {
        text.hasPrefix("$") && !text.hasPrefix("$$")
    }

    static func quote(_ text: String) -> String { JSONValue.string(text).serialized() }

    static func error(_ site: Site, _ field: String?, _ reason: String) -> ClaiflowError {
        let prefix = "\(site.location) (step \(quote(site.stepID)))"
        return ClaiflowError(.invalidArgument, field.map { "\(prefix): \($0): \(reason)" } ?? "\(prefix): \(reason)")
    }
}
