import ClaiflowCore

/// What in-place subschemas evaluated, for `unevaluatedProperties` / `unevaluatedItems`.
struct Annotations {
    var properties: Set<String> = []
    var allProperties = false
    /// Items `0..<itemPrefix` were evaluated.
    var itemPrefix = 0
    var allItems = false
    /// Items evaluated by `contains`.
    var itemIndexes: Set<Int> = []

    mutating func merge(_ other: Annotations) {
        if other.allProperties {
            allProperties = true
        } else if !other.properties.isEmpty {
            properties.formUnion(other.properties)
        }
        if other.allItems { allItems = true }
        itemPrefix = max(itemPrefix, other.itemPrefix)
        if !other.itemIndexes.isEmpty { itemIndexes.formUnion(other.itemIndexes) }
    }

    func evaluated(property: String) -> Bool { allProperties || properties.contains(property) }
    func evaluated(item: Int) -> Bool { allItems || item < itemPrefix || itemIndexes.contains(item) }
}

/// One validation run. Not shared: each `validate` call makes its own.
final class Evaluator {
    /// Deepest nesting of schema evaluations (guards `$ref` cycles that consume no instance
    /// and absurdly deep instances).
    static let maxDepth = 400

    private let nodes: [SchemaNode]
    private let dynamicAnchors: [[String: NodeID]]
    private(set) var violations: [SchemaViolation] = []
    private var path: [PathToken] = []
    private var scope: [Int32] = []
    /// Most schema evaluations one validation may perform (guards alternatives that all
    /// recurse into the same value, which would otherwise take exponential time).
    static let maxSteps = 1_000_000

    private var depth = 0
    private var steps = 0
    /// Set when a limit was hit: every evaluation then fails at once, and `limitViolation`
    /// says why.
    private(set) var limitViolation: SchemaViolation?
    /// Inside the computation of a "closest alternative" explanation (not nested further).
    private var explaining = false

    private enum PathToken {
        case key(String)
        case index(Int)
    }

    init(_ schema: CompiledSchema) {
        nodes = schema.nodes
        dynamicAnchors = schema.dynamicAnchors
    }

    // MARK: Reporting

    private var instancePointer: String {
        var out = ""
        for token in path {
            switch token {
            case .key(let k): out += "/" + JSONPointer.escape(k)
            case .index(let i): out += "/\(i)"
            }
        }
        return out
    }

    private func report(_ node: SchemaNode, _ keyword: String, _ message: String, member: String? = nil) {
        var schemaPointer = JSONPointer.appending(node.location, keyword)
        if let member { schemaPointer = JSONPointer.appending(schemaPointer, member) }
        violations.append(
            SchemaViolation(instancePointer: instancePointer, keyword: keyword, schemaPointer: schemaPointer, message: message))
    }

    /// Runs `body` collecting its violations separately; returns them and drops them from the list.
    private func capture(_ body: () -> Void) -> [SchemaViolation] {
        let mark = violations.count
        body()
        let captured = Array(violations[mark...])
        violations.removeSubrange(mark...)
        return captured
    }

    // MARK: Evaluation

    /// Evaluates a node. `collect`: record violations (else stop at the first failure).
    /// `annotations`: when non-nil, receives what the node evaluated in place.
    func evaluate(_ id: NodeID, _ value: JSONValue, collect: Bool, _ annotations: inout Annotations?) -> Bool {
        let node = nodes[Int(id)]
        if node.alwaysFalse {
            if collect { report(node, "false", "no value is allowed here (the schema is false)") }
            return false
        }
        if node.keywords.isEmpty { return true }
        if limitViolation != nil { return false }
        steps += 1
        if depth >= Self.maxDepth || steps > Self.maxSteps {
            let message =
                depth >= Self.maxDepth
                ? "schema evaluation nested more than \(Self.maxDepth) levels deep (a $ref cycle, or an instance nested too deeply)"
                : "validation too complex: more than \(Self.maxSteps) schema evaluations"
            limitViolation = SchemaViolation(
                instancePointer: instancePointer, keyword: "$ref", schemaPointer: node.location, message: message)
            return false
        }
        depth += 1
        let pushed = scope.last != node.resource
        if pushed { scope.append(node.resource) }
        defer {
            depth -= 1
            if pushed { scope.removeLast() }
        }
        var local: Annotations? = (annotations != nil || node.needsAnnotations) ? Annotations() : nil
        var valid = true
        for keyword in node.keywords {
            if !apply(keyword, node, value, collect, &local) {
                valid = false
                if !collect { return false }
            }
        }
        if let local { annotations?.merge(local) }
        return valid
    }

    private func child(_ id: NodeID, _ value: JSONValue, _ token: PathToken, _ collect: Bool) -> Bool {
        path.append(token)
        defer { path.removeLast() }
        var none: Annotations? = nil
        return evaluate(id, value, collect: collect, &none)
    }

    private func isFalse(_ id: NodeID) -> Bool { nodes[Int(id)].alwaysFalse }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func apply(
        _ keyword: Keyword, _ node: SchemaNode, _ value: JSONValue, _ collect: Bool, _ local: inout Annotations?
    ) -> Bool {
        switch keyword {
        case .ref(let target):
            return evaluate(target, value, collect: collect, &local)

        case .dynamicRef(let target, let anchor):
            var resolved = target
            if let anchor {
                for resource in scope {
                    if let found = dynamicAnchors[Int(resource)][anchor] {
                        resolved = found
                        break
                    }
                }
            }
            return evaluate(resolved, value, collect: collect, &local)

        case .type(let types):
            if types.admits(value) { return true }
            if collect {
                let expected = types.rawValue.nonzeroBitCount == 1 ? types.listing : "one of \(types.listing)"
                report(node, "type", "expected \(expected), got \(Self.typeName(value))")
            }
            return false

        case .enumeration(let values):
            if values.contains(value) { return true }
            if collect {
                let allowed = values.values.prefix(10).map(preview).joined(separator: ", ")
                let more = values.values.count > 10 ? ", …" : ""
                report(node, "enum", "\(preview(value)) is not one of the allowed values: \(allowed)\(more)")
            }
            return false

        case .const(let expected):
            if JSONEquality.equal(value, expected) { return true }
            if collect { report(node, "const", "\(preview(value)) is not the required value \(preview(expected))") }
            return false

        case .multipleOf(let divisor):
            guard let n = JSONNumber(value) else { return true }
            if n.isMultiple(of: divisor) { return true }
            if collect { report(node, "multipleOf", "\(n) is not a multiple of \(divisor)") }
            return false

        case .maximum(let limit):
            guard let n = JSONNumber(value) else { return true }
            if let c = JSONNumber.compare(n, limit), c <= 0 { return true }
            if collect { report(node, "maximum", "\(n) is greater than the maximum \(limit)") }
            return false

        case .exclusiveMaximum(let limit):
            guard let n = JSONNumber(value) else { return true }
            if let c = JSONNumber.compare(n, limit), c < 0 { return true }
            if collect { report(node, "exclusiveMaximum", "\(n) is not less than the exclusive maximum \(limit)") }
            return false

        case .minimum(let limit):
            guard let n = JSONNumber(value) else { return true }
            if let c = JSONNumber.compare(n, limit), c >= 0 { return true }
            if collect { report(node, "minimum", "\(n) is less than the minimum \(limit)") }
            return false

        case .exclusiveMinimum(let limit):
            guard let n = JSONNumber(value) else { return true }
            if let c = JSONNumber.compare(n, limit), c > 0 { return true }
            if collect { report(node, "exclusiveMinimum", "\(n) is not greater than the exclusive minimum \(limit)") }
            return false

        case .maxLength(let limit):
            guard case .string(let s) = value else { return true }
            // Length in code points; UTF-8 length is an upper bound.
            if s.utf8.count <= limit { return true }
            let length = s.unicodeScalars.count
            if length <= limit { return true }
            if collect {
                report(node, "maxLength", "\(preview(value)) is longer than \(counted(limit, "character")) (\(length))")
            }
            return false

        case .minLength(let limit):
            guard case .string(let s) = value else { return true }
            if limit == 0 { return true }
            let length = s.utf8.count < limit ? s.utf8.count : s.unicodeScalars.count
            if length >= limit { return true }
            if collect {
                let actual = s.unicodeScalars.count
                report(node, "minLength", "\(preview(value)) is shorter than \(counted(limit, "character")) (\(actual))")
            }
            return false

        case .pattern(let regex):
            guard case .string(let s) = value else { return true }
            if regex.matches(s) { return true }
            if collect {
                report(node, "pattern", "\(preview(value)) does not match the pattern \(preview(.string(regex.source)))")
            }
            return false

        case .format(let name, let check):
            guard case .string(let s) = value else { return true }
            if check.accepts(s) { return true }
            if collect { report(node, "format", "\(preview(value)) is not a valid \(name)") }
            return false

        case .maxItems(let limit):
            guard case .array(let items) = value else { return true }
            if items.count <= limit { return true }
            if collect { report(node, "maxItems", "array has \(items.count) items, more than the maximum \(limit)") }
            return false

        case .minItems(let limit):
            guard case .array(let items) = value else { return true }
            if items.count >= limit { return true }
            if collect {
                report(node, "minItems", "array has \(counted(items.count, "item")), fewer than the minimum \(limit)")
            }
            return false

        case .uniqueItems:
            guard case .array(let items) = value, items.count > 1 else { return true }
            guard let (first, second) = Self.duplicate(in: items) else { return true }
            if collect { report(node, "uniqueItems", "items \(first) and \(second) are equal; items must be unique") }
            return false

        case .contains(let sub, let minimum, let maximum):
            guard case .array(let items) = value else { return true }
            var matches = 0
            let needAll = local != nil || maximum != nil
            for (i, item) in items.enumerated() {
                if child(sub, item, .index(i), false) {
                    matches += 1
                    local?.itemIndexes.insert(i)
                    if !needAll && matches >= minimum { break }
                }
            }
            if matches < minimum {
                if collect {
                    if matches == 0 && minimum == 1 {
                        report(node, "contains", "no item matches the \"contains\" schema")
                    } else {
                        report(
                            node, "minContains",
                            "\(counted(matches, "item")) match the \"contains\" schema, fewer than the minimum \(minimum)")
                    }
                }
                return false
            }
            if let maximum, matches > maximum {
                if collect {
                    report(
                        node, "maxContains", "\(matches) items match the \"contains\" schema, more than the maximum \(maximum)")
                }
                return false
            }
            return true

        case .maxProperties(let limit):
            guard case .object(let members) = value else { return true }
            if members.count <= limit { return true }
            if collect { report(node, "maxProperties", "object has \(members.count) properties, more than the maximum \(limit)") }
            return false

        case .minProperties(let limit):
            guard case .object(let members) = value else { return true }
            if members.count >= limit { return true }
            if collect {
                let actual = counted(members.count, "property", "properties")
                report(node, "minProperties", "object has \(actual), fewer than the minimum \(limit)")
            }
            return false

        case .required(let names):
            guard case .object(let members) = value else { return true }
            var valid = true
            for name in names where members[name] == nil {
                valid = false
                guard collect else { return false }
                report(node, "required", "missing required property \(preview(.string(name)))")
            }
            return valid

        case .dependentRequired(let pairs, let keyword):
            guard case .object(let members) = value else { return true }
            var valid = true
            for (trigger, names) in pairs where members[trigger] != nil {
                for name in names where members[name] == nil {
                    valid = false
                    guard collect else { return false }
                    report(
                        node, keyword,
                        "missing property \(preview(.string(name))), required when \(preview(.string(trigger))) is present")
                }
            }
            return valid

        case .dependentSchemas(let pairs, _):
            guard case .object(let members) = value else { return true }
            var valid = true
            for (trigger, sub) in pairs where members[trigger] != nil {
                if !evaluate(sub, value, collect: collect, &local) {
                    valid = false
                    if !collect { return false }
                }
            }
            return valid

        case .properties(let schemas):
            guard case .object(let members) = value else { return true }
            var valid = true
            for (name, sub) in schemas {
                guard let member = members[name] else { continue }
                local?.properties.insert(name)
                if !property(node, "properties", name, sub, member, collect, schemaMember: name) {
                    valid = false
                    if !collect { return false }
                }
            }
            return valid

        case .patternProperties(let patterns):
            guard case .object(let members) = value else { return true }
            var valid = true
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                for (regex, sub) in patterns where regex.matches(name) {
                    local?.properties.insert(name)
                    if !property(node, "patternProperties", name, sub, member, collect, schemaMember: regex.source) {
                        valid = false
                        if !collect { return false }
                    }
                }
            }
            return valid

        case .additionalProperties(let sub, let known, let patterns):
            guard case .object(let members) = value else { return true }
            var valid = true
            for name in members.keys.sorted() where !known.contains(name) {
                if patterns.contains(where: { $0.matches(name) }) { continue }
                guard let member = members[name] else { continue }
                local?.properties.insert(name)
                if !property(node, "additionalProperties", name, sub, member, collect) {
                    valid = false
                    if !collect { return false }
                }
            }
            return valid

        case .propertyNames(let sub):
            guard case .object(let members) = value else { return true }
            var valid = true
            for name in members.keys.sorted() {
                var none: Annotations? = nil
                if evaluate(sub, .string(name), collect: false, &none) { continue }
                valid = false
                guard collect else { return false }
                let inner = capture { _ = evaluate(sub, .string(name), collect: true, &none) }
                let reason = inner.first.map { ": \($0.message)" } ?? ""
                report(node, "propertyNames", "property name \(preview(.string(name))) is not allowed\(reason)")
            }
            return valid

        case .prefixItems(let schemas):
            guard case .array(let items) = value else { return true }
            var valid = true
            let n = min(items.count, schemas.count)
            for i in 0..<n where !child(schemas[i], items[i], .index(i), collect) {
                valid = false
                if !collect { return false }
            }
            if let current = local?.itemPrefix, current < n { local?.itemPrefix = n }
            return valid

        case .items(let sub, let start, let keyword):
            guard case .array(let items) = value, items.count > start else { return true }
            var valid = true
            if isFalse(sub) {
                if collect {
                    report(node, keyword, "array has \(items.count) items, at most \(start) allowed")
                }
                return false
            }
            for i in start..<items.count where !child(sub, items[i], .index(i), collect) {
                valid = false
                if !collect { return false }
            }
            local?.allItems = true
            return valid

        case .allOf(let schemas):
            var valid = true
            for sub in schemas where !evaluate(sub, value, collect: collect, &local) {
                valid = false
                if !collect { return false }
            }
            return valid

        case .anyOf(let schemas):
            var matched = false
            for sub in schemas {
                var branch: Annotations? = local != nil ? Annotations() : nil
                if evaluate(sub, value, collect: false, &branch) {
                    matched = true
                    if let branch { local?.merge(branch) } else { break }
                }
            }
            if !matched && collect {
                let why = closest(schemas, value)
                report(node, "anyOf", "\(preview(value)) does not match any of the \(schemas.count) schemas in \"anyOf\"\(why)")
            }
            return matched

        case .oneOf(let schemas):
            var matches: [Int] = []
            var matchedAnnotations: Annotations?
            for (i, sub) in schemas.enumerated() {
                var branch: Annotations? = local != nil ? Annotations() : nil
                if evaluate(sub, value, collect: false, &branch) {
                    matches.append(i)
                    matchedAnnotations = branch
                    if matches.count > 1 && !collect { return false }
                }
            }
            if matches.count == 1 {
                if let matchedAnnotations { local?.merge(matchedAnnotations) }
                return true
            }
            if collect {
                if matches.isEmpty {
                    let why = closest(schemas, value)
                    report(
                        node, "oneOf", "\(preview(value)) does not match any of the \(schemas.count) schemas in \"oneOf\"\(why)")
                } else {
                    let which = matches.map { "#\($0)" }.joined(separator: ", ")
                    report(
                        node, "oneOf",
                        "\(preview(value)) matches \(matches.count) of the schemas in \"oneOf\" (\(which)); exactly one must match"
                    )
                }
            }
            return false

        case .not(let sub):
            var none: Annotations? = nil
            if !evaluate(sub, value, collect: false, &none) { return true }
            if collect { report(node, "not", "\(preview(value)) must not match the schema in \"not\"") }
            return false

        case .ifThenElse(let condition, let thenSchema, let elseSchema):
            if thenSchema == nil && elseSchema == nil && local == nil { return true }
            var conditionAnnotations: Annotations? = local != nil ? Annotations() : nil
            if evaluate(condition, value, collect: false, &conditionAnnotations) {
                if let conditionAnnotations { local?.merge(conditionAnnotations) }
                guard let thenSchema else { return true }
                return evaluate(thenSchema, value, collect: collect, &local)
            }
            guard let elseSchema else { return true }
            return evaluate(elseSchema, value, collect: collect, &local)

        case .unevaluatedItems(let sub):
            guard case .array(let items) = value else { return true }
            let seen = local ?? Annotations()
            var valid = true
            for i in items.indices where !seen.evaluated(item: i) {
                if isFalse(sub) {
                    valid = false
                    guard collect else { return false }
                    report(node, "unevaluatedItems", "item \(i) is not allowed (not evaluated by any other keyword)")
                } else if !child(sub, items[i], .index(i), collect) {
                    valid = false
                    if !collect { return false }
                }
            }
            local?.allItems = true
            return valid

        case .unevaluatedProperties(let sub):
            guard case .object(let members) = value else { return true }
            let seen = local ?? Annotations()
            var valid = true
            for name in members.keys.sorted() where !seen.evaluated(property: name) {
                guard let member = members[name] else { continue }
                if !property(node, "unevaluatedProperties", name, sub, member, collect) {
                    valid = false
                    if !collect { return false }
                }
            }
            local?.allProperties = true
            return valid
        }
    }

    /// Evaluates one property value; a `false` subschema gives "property … is not allowed".
    private func property(
        _ node: SchemaNode, _ keyword: String, _ name: String, _ sub: NodeID, _ member: JSONValue, _ collect: Bool,
        schemaMember: String? = nil
    ) -> Bool {
        if isFalse(sub) {
            if collect {
                let why =
                    switch keyword {
                    case "additionalProperties": "is not allowed (no additional properties)"
                    case "unevaluatedProperties": "is not allowed (not evaluated by any other keyword)"
                    default: "is not allowed"
                    }
                report(node, keyword, "property \(preview(.string(name))) \(why)", member: schemaMember)
            }
            return false
        }
        return child(sub, member, .key(name), collect)
    }

    /// For a failed `anyOf`/`oneOf`: the violations of the alternative that came closest.
    private func closest(_ schemas: [NodeID], _ value: JSONValue) -> String {
        guard !explaining, limitViolation == nil else { return "" }
        explaining = true
        defer { explaining = false }
        var best: [SchemaViolation]?
        var bestIndex = 0
        for (i, sub) in schemas.enumerated() {
            var none: Annotations? = nil
            let found = capture { _ = evaluate(sub, value, collect: true, &none) }
            if found.isEmpty { continue }
            if best == nil || found.count < (best?.count ?? 0) {
                best = found
                bestIndex = i
            }
        }
        guard let best, !best.isEmpty else { return "" }
        let shown = best.prefix(3).map(\.description).joined(separator: "; ")
        return " (closest is #\(bestIndex): \(shown)\(best.count > 3 ? "; …" : ""))"
    }

    /// `1 item`, `2 items`.
    private func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .integer: return "integer"
        case .number(let d): return JSONNumber.double(d).isIntegral ? "integer" : "number"
        default: return value.typeName
        }
    }

    /// The indexes of the first two JSON-equal items, if any.
    private static func duplicate(in items: [JSONValue]) -> (Int, Int)? {
        if items.count <= 16 {
            for i in items.indices {
                for j in (i + 1)..<items.count where JSONEquality.equal(items[i], items[j]) { return (i, j) }
            }
            return nil
        }
        var seen: [[UInt8]: Int] = [:]
        for (i, item) in items.enumerated() {
            let key = JSONEquality.canonicalBytes(item)
            if let first = seen[key] { return (first, i) }
            seen[key] = i
        }
        return nil
    }
}
