import ClaiflowCore
import ClaiflowJQ

/// The flow language v2 constructs: conditions, parallel branches, and the step options
/// `$retry`, `$timeout`, `$on_failure`/`$continue`, `$result` and `$max_concurrency`.
extension FlowParser {
    /// Every `$` key a step may have; any other `$` key is an error (other keys are ignored, as
    /// in the original).
    static let knownKeys: Set<String> = [
        "$id", "$command", "$range", "$steps", "$print",
        "$if", "$condition", "$then", "$else", "$parallel", "$max_concurrency",
        "$retry", "$timeout", "$on_failure", "$continue", "$result",
    ]

    /// The keys of `$retry`.
    static let retryKeys: Set<String> = ["max_attempts", "backoff", "factor", "max_backoff", "jitter", "until"]

    static func checkKeys(_ object: [String: JSONValue], site: Site) throws(ClaiflowError) {
        for key in object.keys.sorted() where key.hasPrefix("$") && !knownKeys.contains(key) {
            throw error(
                site, nil, "unknown key \(quote(key)); a step's \"$\" keys are \(knownKeys.sorted().joined(separator: ", "))")
        }
        if object["$if"] != nil && object["$condition"] != nil {
            throw error(site, nil, "\"$if\" and \"$condition\" are the same key; give only one")
        }
    }

    /// A condition or a parallel step; nil when the object is neither.
    func parseV2Body(
        _ object: [String: JSONValue], location: String, site: Site, scope: [Frame]
    ) throws(ClaiflowError) -> FlowStep.Body? {
        let depth = scope.last?.depth ?? 0
        if let key = object["$if"] != nil ? "$if" : (object["$condition"] != nil ? "$condition" : nil) {
            if object["$parallel"] != nil {
                throw Self.error(site, nil, "a step has one kind: \"\(key)\" and \"$parallel\" cannot be combined")
            }
            let program = try jq(object[key] ?? .null, field: key, site: site)
            guard let thenValue = object["$then"] else {
                throw Self.error(site, "$then", "is required: the steps to run when \"\(key)\" holds")
            }
            let then = try branch(thenValue, field: "$then", location: location, site: site, scope: scope, depth: depth)
            let otherwise = try object["$else"].map { value throws(ClaiflowError) in
                try branch(value, field: "$else", location: location, site: site, scope: scope, depth: depth)
            }
            return .condition(FlowStep.Condition(program: program, then: then, otherwise: otherwise ?? []))
        }
        if let parallel = object["$parallel"] {
            guard case .array(let branches) = parallel, !branches.isEmpty else {
                throw Self.error(site, "$parallel", "must be a non-empty array of branches, each an array of steps")
            }
            var parsed: [[FlowStep]] = []
            for (i, value) in branches.enumerated() {
                guard case .array(let elements) = value else {
                    throw Self.error(site, "$parallel[\(i)]", "must be an array of steps, got \(value.typeName)")
                }
                parsed.append(
                    try parseSteps(
                        elements, path: "\(location).$parallel[\(i)]", frames: scope, kind: .parallelBranch, depth: depth))
            }
            return .parallel(branches: parsed, maxConcurrency: try maxConcurrency(object, site: site))
        }
        return nil
    }

    private func branch(
        _ value: JSONValue, field: String, location: String, site: Site, scope: [Frame], depth: Int
    ) throws(ClaiflowError) -> [FlowStep] {
        guard case .array(let elements) = value else {
            throw Self.error(site, field, "must be an array of steps, got \(value.typeName)")
        }
        return try parseSteps(elements, path: "\(location).\(field)", frames: scope, kind: .branch, depth: depth)
    }

    /// `$max_concurrency`: an integer from 1 to 1000, or nil when absent.
    func maxConcurrency(_ object: [String: JSONValue], site: Site) throws(ClaiflowError) -> Int? {
        guard let value = object["$max_concurrency"] else { return nil }
        guard let n = value.exactInt, (1...1000).contains(n) else {
            throw Self.error(site, "$max_concurrency", "must be an integer from 1 to 1000, got \(value.excerpt)")
        }
        return n
    }

    func parseOptions(
        _ object: [String: JSONValue], body: FlowStep.Body, location: String, site: Site, scope: [Frame]
    ) throws(ClaiflowError) -> StepOptions {
        var options = StepOptions()
        let isCommand: Bool
        switch body {
        case .command: isCommand = true
        default: isCommand = false
        }
        switch body {
        case .condition: break
        default:
            for key in ["$then", "$else"] where object[key] != nil {
                throw Self.error(site, key, "only a condition step (with \"$if\") has \(key)")
            }
        }
        switch body {
        case .range, .parallel: break
        default:
            if object["$max_concurrency"] != nil {
                throw Self.error(site, "$max_concurrency", "only \"$range\" and \"$parallel\" steps have a concurrency")
            }
        }
        if isCommand {
            for key in ["$if", "$condition", "$parallel"] where object[key] != nil {
                throw Self.error(site, nil, "a step has one kind: \"$command\" and \(Self.quote(key)) cannot be combined")
            }
        }
        if let retry = object["$retry"] {
            guard isCommand else {
                throw Self.error(site, "$retry", "only a command step can be retried; put \"$retry\" on the commands inside")
            }
            options.retry = try retryPolicy(retry, site: site)
        }
        if let result = object["$result"] {
            guard isCommand else { throw Self.error(site, "$result", "only a command step has \"$result\"") }
            options.result = try jq(result, field: "$result", site: site)
        }
        if let timeout = object["$timeout"] {
            let duration = try duration(timeout, field: "$timeout", site: site, allowZero: false)
            if case .string(let text) = timeout { options.timeout = StepTimeout(duration: duration, text: text) }
        }
        if let handler = object["$on_failure"] {
            guard case .array(let elements) = handler, !elements.isEmpty else {
                throw Self.error(site, "$on_failure", "must be a non-empty array of steps")
            }
            options.onFailure = try parseSteps(
                elements, path: "\(location).$on_failure", frames: scope, kind: .handler, depth: scope.last?.depth ?? 0)
        }
        if let value = object["$continue"] {
            guard case .bool(let flag) = value else {
                throw Self.error(site, "$continue", "must be true or false, got \(value.typeName)")
            }
            guard options.onFailure != nil else {
                throw Self.error(site, "$continue", "needs \"$on_failure\": the flow continues when the handler succeeds")
            }
            options.continueAfterHandler = flag
        }
        return options
    }

    private func retryPolicy(_ value: JSONValue, site: Site) throws(ClaiflowError) -> RetryPolicy {
        guard case .object(let fields) = value else {
            throw Self.error(
                site, "$retry", "must be an object such as {\"max_attempts\": 3, \"backoff\": \"2s\"}, got \(value.typeName)")
        }
        for key in fields.keys.sorted() where !Self.retryKeys.contains(key) {
            throw Self.error(
                site, "$retry", "unknown key \(Self.quote(key)); the keys are \(Self.retryKeys.sorted().joined(separator: ", "))")
        }
        var policy = RetryPolicy(
            maxAttempts: RetryPolicy.defaultMaxAttempts, backoff: RetryPolicy.defaultBackoff, factor: RetryPolicy.defaultFactor,
            maxBackoff: nil, jitter: RetryPolicy.defaultJitter, until: nil)
        if let n = fields["max_attempts"] {
            guard let attempts = n.exactInt, (1...100).contains(attempts) else {
                throw Self.error(site, "$retry.max_attempts", "must be an integer from 1 to 100, got \(n.excerpt)")
            }
            policy.maxAttempts = attempts
        }
        if let backoff = fields["backoff"] {
            policy.backoff = try duration(backoff, field: "$retry.backoff", site: site, allowZero: true)
        }
        if let maxBackoff = fields["max_backoff"] {
            policy.maxBackoff = try duration(maxBackoff, field: "$retry.max_backoff", site: site, allowZero: true)
        }
        if let factor = fields["factor"] {
            guard let f = Self.number(factor), f >= 1, f <= 100 else {
                throw Self.error(site, "$retry.factor", "must be a number from 1 to 100, got \(factor.excerpt)")
            }
            policy.factor = f
        }
        if let jitter = fields["jitter"] {
            switch jitter {
            case .bool(let on): policy.jitter = on ? RetryPolicy.defaultJitter : 0
            default:
                guard let j = Self.number(jitter), j >= 0, j <= 1 else {
                    throw Self.error(site, "$retry.jitter", "must be a number from 0 to 1 (or true/false), got \(jitter.excerpt)")
                }
                policy.jitter = j
            }
        }
        if let until = fields["until"] {
            policy.until = try jq(until, field: "$retry.until", site: site)
        }
        return policy
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let i): Double(i)
        case .number(let d): d.isFinite ? d : nil
        default: nil
        }
    }

    /// A jq program compiled now (sandboxed like the `$inputs` filters).
    func jq(_ value: JSONValue, field: String, site: Site) throws(ClaiflowError) -> JQProgram {
        guard case .string(let text) = value, text.contains(where: { !$0.isWhitespace }) else {
            throw Self.error(site, field, "must be a jq program (a non-empty string), got \(value.typeName)")
        }
        do throws(ClaiflowError) {
            return try JQProgramCache.shared.program(text)
        } catch {
            throw Self.error(site, field, "not a valid jq program: \(error.message)")
        }
    }

    /// A duration written as Go writes them (`500ms`, `30s`, `1m30s`, `2h`), positive (or zero when allowed), at most a year.
    func duration(_ value: JSONValue, field: String, site: Site, allowZero: Bool) throws(ClaiflowError) -> Duration {
        guard case .string(let text) = value, let parsed = GoDuration(parsing: text) else {
            throw Self.error(
                site, field, "must be a duration such as \"500ms\", \"30s\", \"1m30s\" or \"2h\", got \(value.excerpt)")
        }
        guard parsed.nanoseconds > 0 || (allowZero && parsed.nanoseconds == 0), parsed <= GoDuration.seconds(366 * 86_400)
        else {
            throw Self.error(
                site, field, "must be \(allowZero ? "at least 0" : "more than 0") and at most a year, got \(Self.quote(text))")
        }
        return parsed.swiftDuration
    }

    /// Step ids must be unique across an array and the branches and handlers inside it (they
    /// share one namespace: a later step reads a parallel branch's step by id).
    static func checkUniqueIDs(_ steps: [FlowStep]) throws(ClaiflowError) {
        var seen: [String: String] = [:]
        func visit(_ steps: [FlowStep]) throws(ClaiflowError) {
            for step in steps {
                if let previous = seen[step.id] {
                    throw error(
                        Site(location: step.location, stepID: step.id), nil,
                        "duplicate \"$id\" (also used by \(previous)); ids must be unique within an array and the branches and handlers in it"
                    )
                }
                seen[step.id] = step.location
                switch step.body {
                case .range(_, let children, _): try checkUniqueIDs(children)  // each iteration is a namespace of its own
                case .condition(let condition):
                    try visit(condition.then)
                    try visit(condition.otherwise)
                case .parallel(let branches, _):
                    for branch in branches { try visit(branch) }
                case .command, .print: break
                }
                if let handler = step.options.onFailure { try visit(handler) }
            }
        }
        try visit(steps)
    }

    /// Where a step that the referencing step cannot see is, when it is inside a branch or a
    /// handler: the reason the reference is refused.
    static func hiddenPlace(of id: String, in entries: [ScopeEntry]) -> String? {
        for entry in entries {
            guard let owner = entry.id else { continue }
            let lists: [(String, JSONValue?)] = [
                ("$then", entry.kind == .condition ? entry.object["$then"] : nil),
                ("$else", entry.kind == .condition ? entry.object["$else"] : nil),
                ("$on_failure", entry.object["$on_failure"]),
                ("$steps", entry.kind == .range ? entry.object["$steps"] : nil),
            ]
            var parallel: [JSONValue] = []
            if entry.kind == .parallel, case .array(let branches)? = entry.object["$parallel"] { parallel = branches }
            for (field, value) in lists + parallel.map({ ("$parallel", $0) }) {
                guard case .array(let steps)? = value else { continue }
                let children = steps.map(scopeEntry)
                if field != "$steps", children.contains(where: { $0.id == id }) {
                    switch field {
                    case "$on_failure":
                        return
                            "step \(quote(id)) is in the $on_failure handler of step \(quote(owner)), which runs only when that step fails"
                    case "$parallel":
                        return
                            "step \(quote(id)) is in a branch of parallel step \(quote(owner)) that runs at the same time as this "
                            + "step or contains it; it can be read after \(quote(owner)) or by later steps of its own branch"
                    default:
                        return "step \(quote(id)) is in a branch of condition \(quote(owner)), which may not run; "
                            + "read \(quote("$\(owner).outputs")) (the outputs of the branch that ran)"
                    }
                }
                if let inner = hiddenPlace(of: id, in: children) { return inner }
            }
        }
        return nil
    }
}
