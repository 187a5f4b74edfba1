import ClaiflowCore
import ClaiflowJQ

/// `it[2]`: one instance of an iteration, part of the full id of a nested step.
struct InstancePart: Hashable, Sendable {
    var id: String
    var index: Int
}

/// Identifies a step instance in the flow store: `o[1].i[0].c` = prefix [o[1], i[0]], id "c".
struct StepKey: Hashable, Sendable {
    var prefix: [InstancePart]
    var id: String

    /// The full id as the original rendered it: `o[1].i[0].c`.
    var display: String {
        var out = ""
        for part in prefix { out += "\(part.id)[\(part.index)]." }
        return out + id
    }
}

/// What a step instance has written to the flow store.
struct StepRecord: Sendable {
    var inputs: JSONValue?
    var outputs: JSONValue?
    var key: Int?
    var val: JSONValue?
    var len: Int?
    /// An iteration's elements (`$it.val` inside instance `i` is element `i`).
    var elements: [JSONValue]?
    /// A condition's branch that ran (0 `$then`, 1 `$else`).
    var branch: Int?
    /// How many attempts a command step made.
    var attempts: Int?
    /// `{message, step, attempts}` while the step's `$on_failure` handler runs.
    var error: JSONValue?
}

/// The state of one run of a flow: the flow store, the evaluation of references and the
/// reports. An actor, so that parallel branches and concurrent iterations share the store;
/// commands run outside it.
actor FlowRun {
    let inputs: JSONValue
    let commands: [String: FlowCommand]
    let isCancelled: @Sendable () async -> Bool
    let clock: @Sendable () -> Timestamp
    let onStep: @Sendable (StepReport) async -> Void
    var store: [StepKey: StepRecord] = [:]
    /// Every report sent, in order.
    var reports: [StepReport] = []
    /// The top-level step running now (attempt reports are about it).
    var current: (sequence: Int, id: String) = (0, "")
    /// Values already converted for jq, so that repeated lookups into a large value (a list of
    /// pods read once per iteration) do not convert it every time. Invalidated on every write.
    private var converted: [ValueSource: JQValue] = [:]

    /// A value that references read from.
    private enum ValueSource: Hashable {
        case inputs
        case slot(StepKey, Slot)
        /// The element of one iteration instance.
        case instance(StepKey, Int)
        /// The `$error` of a step's handler.
        case error(StepKey)
    }

    init(
        inputs: JSONValue, commands: [String: FlowCommand], clock: @escaping @Sendable () -> Timestamp,
        onStep: @escaping @Sendable (StepReport) async -> Void, isCancelled: @escaping @Sendable () async -> Bool
    ) {
        self.inputs = inputs
        self.commands = commands
        self.clock = clock
        self.onStep = onStep
        self.isCancelled = isCancelled
    }

    /// Sends a report and keeps it.
    func report(_ report: StepReport) async {
        reports.append(report)
        await onStep(report)
    }

    func cancellationRequested() async -> Bool {
        if Task.isCancelled { return true }
        return await isCancelled()
    }

    // MARK: - Phase A: $inputs references of top-level steps

    /// Resolves every reference of the top-level steps that depends only on the service inputs,
    /// so that a service with a bad `$inputs…` fails before anything runs (as in the original).
    func checkInputsReferences(of steps: [FlowStep]) throws(FlowFailure) {
        for step in steps {
            let fullID = step.id
            func check(_ reference: Reference, _ location: String) throws(FlowFailure) {
                guard reference.dependsOnInputsOnly else { return }
                _ = try resolve(reference, location: location, stepID: fullID, prefix: [])
            }
            switch step.body {
            case .command(_, .object(let template)):
                try template.forEachReference(check)
            case .command(_, .reference(let reference)):
                guard reference.dependsOnInputsOnly else { continue }
                _ = try commandInputs(.reference(reference), stepID: fullID, prefix: [])
            case .command(_, .none):
                continue
            case .range(let source, _, _):
                try source.forEachReference(check)
            case .print(.reference(let reference)):
                try check(reference, "$print.hide")
            case .print(.ids), .condition, .parallel:
                continue
            }
        }
    }

    // MARK: - Execution

    /// Runs one step instance (the body, under its `$timeout`, then its `$on_failure` handler
    /// if it failed) and returns its outputs.
    func execute(_ step: FlowStep, prefix: [InstancePart], siblings: [FlowStep]) async throws(FlowFailure) -> JSONValue {
        guard step.options.timeout != nil || step.options.onFailure != nil else {
            return try await executeBody(step, prefix: prefix, siblings: siblings)
        }
        do throws(FlowFailure) {
            return try await executeTimed(step, prefix: prefix, siblings: siblings)
        } catch {
            return try await handle(error, of: step, prefix: prefix)
        }
    }

    /// Runs a step's own work.
    func executeBody(_ step: FlowStep, prefix: [InstancePart], siblings: [FlowStep]) async throws(FlowFailure) -> JSONValue {
        let key = StepKey(prefix: prefix, id: step.id)
        let fullID = key.display
        switch step.body {
        case .command(let name, let inputSpec):
            let inputs = try commandInputs(inputSpec, stepID: fullID, prefix: prefix)
            if let inputs { write(inputs, to: key, .inputs) }
            guard let command = commands[name] else {
                throw Self.failure(fullID, "command \(Self.quote(name)) is not registered")
            }
            let call = FlowCommandCall(command: name, stepID: fullID, inputs: inputs)
            let outputs = try await runCommand(command, call, options: step.options, key: key)
            write(outputs, to: key, .outputs)
            return outputs

        case .condition(let condition):
            let branch = try decide(condition, stepID: fullID, prefix: prefix)
            store[key, default: StepRecord()].branch = branch ? 0 : 1
            let outputs = try await runSequence(branch ? condition.then : condition.otherwise, prefix: prefix)
            write(outputs, to: key, .outputs)
            return outputs

        case .parallel(let branches, let limit):
            let results = try await concurrently(branches.count, limit: limit ?? branches.count) { index in
                await Self.capture { () async throws(FlowFailure) in try await self.runSequence(branches[index], prefix: prefix) }
            }
            let outputs = JSONValue.array(results)
            write(outputs, to: key, .outputs)
            return outputs

        case .range(let sourceTemplate, let children, let limit):
            let source = try evaluate(sourceTemplate, stepID: fullID, prefix: prefix)
            let elements: [JSONValue]
            switch source {
            case .array(let array): elements = array
            case .null: elements = []
            default:
                throw Self.failure(fullID, "$range: resolved to \(source.typeName) \(source.excerpt), expected an array")
            }
            store[key, default: StepRecord()].len = elements.count
            store[key, default: StepRecord()].elements = elements
            var outputs: [JSONValue] = []
            if let limit, limit > 1, elements.count > 1 {
                let instances = try await concurrently(elements.count, limit: limit) { index in
                    await Self.capture { () async throws(FlowFailure) in
                        .array(try await self.iteration(step, children: children, index: index, prefix: prefix))
                    }
                }
                for case .array(let instanceOutputs) in instances { outputs += instanceOutputs }
                if let last = elements.last {
                    write(.integer(Int64(elements.count - 1)), to: key, .key)
                    write(last, to: key, .val)
                }
            } else {
                for (index, element) in elements.enumerated() {
                    write(.integer(Int64(index)), to: key, .key)
                    write(element, to: key, .val)
                    outputs += try await iteration(step, children: children, index: index, prefix: prefix)
                }
            }
            let result: JSONValue = outputs.isEmpty ? .null : .array(outputs)
            write(result, to: key, .outputs)
            return result

        case .print(let hideSpec):
            let hidden: Set<String>
            switch hideSpec {
            case .ids(let ids):
                hidden = ids
            case .reference(let reference):
                let value = try resolve(reference, location: "$print.hide", stepID: fullID, prefix: prefix)
                guard case .array(let elements) = value else {
                    throw Self.failure(
                        fullID,
                        "$print.hide: reference \(Self.quote(reference.text)) resolved to \(value.typeName), expected an array of step ids"
                    )
                }
                var ids = Set<String>()
                for element in elements {
                    guard case .success(let id) = FlowParser.formatID(element) else {
                        throw Self.failure(fullID, "$print.hide: \(element.excerpt) is not a step id")
                    }
                    ids.insert(id)
                }
                hidden = ids
            }
            let outputs = JSONValue.array(printEntries(siblings, prefix: prefix, hidden: hidden))
            write(outputs, to: key, .outputs)
            return outputs
        }
    }

    /// Forgets the converted element of a finished iteration instance (one is kept per instance
    /// while it runs).
    func forgetInstance(_ key: StepKey, _ index: Int) {
        converted[.instance(key, index)] = nil
        converted[.instance(key, -1 - index)] = nil
    }

    /// Sets the `$error` a step's handler reads.
    func setError(_ error: JSONValue, of key: StepKey) {
        store[key, default: StepRecord()].error = error
        converted[.error(key)] = nil
    }

    /// Stores a slot value and forgets its converted form.
    func write(_ value: JSONValue, to key: StepKey, _ slot: Slot) {
        switch slot {
        case .inputs: store[key, default: StepRecord()].inputs = value
        case .outputs: store[key, default: StepRecord()].outputs = value
        case .val: store[key, default: StepRecord()].val = value
        case .key: store[key, default: StepRecord()].key = value.exactInt
        }
        converted[.slot(key, slot)] = nil
    }

    /// The print summary of an array of steps: commands as `{id, command, inputs?, outputs?}`,
    /// iterations as the array of their children's entries over all iterations.
    private func printEntries(_ steps: [FlowStep], prefix: [InstancePart], hidden: Set<String>) -> [JSONValue] {
        var entries: [JSONValue] = []
        for step in steps where !hidden.contains(step.id) {
            let key = StepKey(prefix: prefix, id: step.id)
            let record = store[key]
            switch step.body {
            case .command(let name, _):
                var entry: [String: JSONValue] = ["id": .string(key.display), "command": .string(name)]
                if let inputs = record?.inputs { entry["inputs"] = inputs }
                if let outputs = record?.outputs { entry["outputs"] = outputs }
                entries.append(.object(entry))
            case .range(_, let children, _):
                var nested: [JSONValue] = []
                for index in 0..<(record?.len ?? 0) {
                    nested += printEntries(children, prefix: prefix + [InstancePart(id: step.id, index: index)], hidden: hidden)
                }
                entries.append(.array(nested))
            case .condition(let condition):
                let taken: [FlowStep]
                switch record?.branch {
                case 0?: taken = condition.then
                case 1?: taken = condition.otherwise
                default: taken = []
                }
                entries.append(.array(printEntries(taken, prefix: prefix, hidden: hidden)))
            case .parallel(let branches, _):
                entries.append(.array(branches.map { .array(printEntries($0, prefix: prefix, hidden: hidden)) }))
            case .print:
                continue
            }
        }
        return entries
    }

    // MARK: - References

    func commandInputs(
        _ spec: FlowStep.CommandInputs, stepID: String, prefix: [InstancePart]
    ) throws(FlowFailure) -> JSONValue? {
        switch spec {
        case .none:
            return nil
        case .object(let template):
            return try evaluate(template, stepID: stepID, prefix: prefix)
        case .reference(let reference):
            let value = try resolve(reference, location: "inputs", stepID: stepID, prefix: prefix)
            guard case .object = value else {
                throw Self.failure(
                    stepID,
                    "inputs: reference \(Self.quote(reference.text)) resolved to \(value.typeName) \(value.excerpt), expected an object"
                )
            }
            return value
        }
    }

    private func evaluate(_ template: ValueTemplate, stepID: String, prefix: [InstancePart]) throws(FlowFailure) -> JSONValue {
        switch template {
        case .literal(let value):
            return value
        case .reference(let reference, let location):
            return try resolve(reference, location: location, stepID: stepID, prefix: prefix)
        case .array(let elements):
            var values: [JSONValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try evaluate(element, stepID: stepID, prefix: prefix)) }
            return .array(values)
        case .object(let members):
            var values: [String: JSONValue] = [:]
            for (key, member) in members { values[key] = try evaluate(member, stepID: stepID, prefix: prefix) }
            return .object(values)
        }
    }

    /// Evaluates a reference, turning an evaluation error into the step's failure text.
    private func resolve(
        _ reference: Reference, location: String, stepID: String, prefix: [InstancePart]
    ) throws(FlowFailure) -> JSONValue {
        do throws(EvaluationError) {
            return try value(of: reference, prefix: prefix)
        } catch {
            throw Self.failure(stepID, "\(location): reference \(Self.quote(reference.text)): \(error.reason)")
        }
    }

    struct EvaluationError: Error {
        var reason: String
    }

    /// The jq program every path lookup runs: `getpath` over `[value, path]`.
    private static let getPath: Result<JQProgram, ClaiflowError> = Result { () throws(ClaiflowError) -> JQProgram in
        try JQProgram(filter: ".[1] as $path | .[0] | getpath($path)")
    }

    func value(of reference: Reference, prefix: [InstancePart]) throws(EvaluationError) -> JSONValue {
        switch reference.target {
        case .inputs(let path):
            return try lookup(inputs, from: .inputs, path: path, prefix: prefix, source: "the inputs")
        case .inputsFilter(let program):
            let outputs: [JSONValue]
            do throws(ClaiflowError) {
                outputs = try program.run(inputs)
            } catch {
                throw EvaluationError(reason: error.message)
            }
            guard let first = outputs.first(where: { $0 != .null }) else {
                throw EvaluationError(reason: "the jq filter over the inputs produced no value other than null")
            }
            return first
        case .step(let target):
            var parts = Array(prefix.prefix(target.level))
            var id = target.root
            for hop in target.hops {
                let index: Int
                switch hop.index {
                case .literal(let i):
                    index = i
                case .reference(let nested):
                    let v = try value(of: nested, prefix: prefix)
                    guard let i = v.exactInt, i >= 0 else {
                        throw EvaluationError(
                            reason:
                                "the iteration index \(Self.quote(nested.text)) is \(v.excerpt), expected a non-negative integer")
                    }
                    index = i
                }
                parts.append(InstancePart(id: id, index: index))
                id = hop.child
            }
            let key = StepKey(prefix: parts, id: id)
            if target.hops.isEmpty, target.slot == .key || target.slot == .val, prefix.count > target.level,
                prefix[target.level].id == target.root, let elements = store[key]?.elements,
                elements.indices.contains(prefix[target.level].index)
            {
                // Inside the iteration: its own instance's element, even when iterations run at once.
                let index = prefix[target.level].index
                let base: JSONValue = target.slot == .key ? .integer(Int64(index)) : elements[index]
                return try lookup(
                    base, from: .instance(key, target.slot == .key ? -1 - index : index), path: target.path, prefix: prefix,
                    source: "\(key.display).\(target.slot.rawValue)")
            }
            guard let record = store[key] else {
                throw EvaluationError(reason: "step \(Self.quote(key.display)) has not run")
            }
            let base: JSONValue?
            switch target.slot {
            case .outputs: base = record.outputs
            case .inputs: base = record.inputs
            case .key: base = record.key.map { .integer(Int64($0)) }
            case .val: base = record.val
            }
            guard let base else {
                switch target.slot {
                case .outputs: throw EvaluationError(reason: "step \(Self.quote(key.display)) has no outputs yet")
                case .inputs: throw EvaluationError(reason: "step \(Self.quote(key.display)) has no inputs")
                case .key, .val:
                    throw EvaluationError(reason: "iteration \(Self.quote(key.display)) has not started an iteration")
                }
            }
            return try lookup(
                base, from: .slot(key, target.slot), path: target.path, prefix: prefix,
                source: "\(key.display).\(target.slot.rawValue)")
        case .error(let level, let owner, let path):
            let key = StepKey(prefix: Array(prefix.prefix(level)), id: owner)
            guard let error = store[key]?.error else {
                throw EvaluationError(reason: "step \(Self.quote(key.display)) has not failed")
            }
            return try lookup(error, from: .error(key), path: path, prefix: prefix, source: "$error")
        }
    }

    /// Applies a jq path (`getpath` semantics) to a value. A path that leads to an existing
    /// `null` gives `null`; a path through a missing key or index is an error.
    private func lookup(
        _ base: JSONValue, from origin: ValueSource, path: [PathSegment], prefix: [InstancePart], source: String
    ) throws(EvaluationError) -> JSONValue {
        guard !path.isEmpty else { return base }
        var components: [JSONValue] = []
        components.reserveCapacity(path.count)
        for segment in path {
            switch segment {
            case .key(let key): components.append(.string(key))
            case .index(let i): components.append(.integer(Int64(i)))
            case .dynamic(let nested):
                let v = try value(of: nested, prefix: prefix)
                if case .string = v {
                    components.append(v)
                } else if let i = v.exactInt {
                    components.append(.integer(Int64(i)))
                } else {
                    throw EvaluationError(
                        reason: "the index \(Self.quote(nested.text)) is \(v.excerpt), expected a string or an integer")
                }
            }
        }
        let result: JSONValue?
        do throws(ClaiflowError) {
            let program = try Self.getPath.get()
            let input: JQValue
            if let cached = converted[origin] {
                input = cached
            } else {
                input = JQValue(base)
                converted[origin] = input
            }
            result = try program.first(JQValue(array: [input, JQValue(.array(components))]))
        } catch {
            throw EvaluationError(reason: "\(error.message) (path \(Location.render(components)) in \(source))")
        }
        if let result, result != .null { return result }
        if let missing = base.firstMissing(components) {
            throw EvaluationError(reason: "\(Location.render(components[...missing])) not found in \(source)")
        }
        return .null
    }

    // MARK: - Helpers

    /// A step failure: `step "<id>": <reason>`.
    static func failure(_ stepID: String, _ reason: String) -> FlowFailure {
        .failed("step \(Self.quote(stepID)): \(reason)")
    }

    static func quote(_ text: String) -> String { FlowParser.quote(text) }

    static func describe(_ error: any Error) -> String {
        if let error = error as? ClaiflowError { return error.message }
        if let error = error as? FlowCommandError { return error.message }
        return String(describing: error)
    }
}
