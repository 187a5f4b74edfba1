import ClaiflowCore
import ClaiflowJQ

/// The top-level loop and the flow language v2 constructs of a run: timeouts, retries,
/// failure handlers, result filters, conditions, parallel branches and concurrent iterations.
extension FlowRun {
    /// Runs a whole flow: reports every top-level step (see ``FlowEngine``).
    func runFlow(_ flow: Flow) async -> FlowOutcome {
        do throws(FlowFailure) {
            try checkInputsReferences(of: flow.steps)
        } catch {
            let now = clock()
            await report(
                StepReport(
                    sequence: 0, stepID: flow.steps.first?.id ?? "", status: .failed, error: error.message, started: now,
                    ended: now))
            return FlowOutcome(status: .failed, error: error.message, reports: reports)
        }

        var lastResult = "null"
        for (sequence, step) in flow.steps.enumerated() {
            if await cancellationRequested() {
                return FlowOutcome(status: .canceled, reports: reports)
            }
            current = (sequence, step.id)
            let started = clock()
            await report(StepReport(sequence: sequence, stepID: step.id, status: .processing, started: started, ended: nil))
            // The caller may refuse the step on its `processing` report (the server canceled the
            // service, or no longer holds it for this agent): then it must not run at all.
            if await cancellationRequested() {
                return FlowOutcome(status: .canceled, reports: reports)
            }
            do throws(FlowFailure) {
                let result = try await execute(step, prefix: [], siblings: flow.steps).serialized()
                await report(
                    StepReport(
                        sequence: sequence, stepID: step.id, status: .succeeded, result: result, started: started, ended: clock())
                )
                lastResult = result
            } catch {
                let message = error.message
                await report(
                    StepReport(
                        sequence: sequence, stepID: step.id, status: .failed, error: message, started: started, ended: clock()))
                if case .canceled = error {
                    return FlowOutcome(status: .canceled, error: message, reports: reports)
                }
                return FlowOutcome(status: .failed, error: message, reports: reports)
            }
        }
        return FlowOutcome(status: .succeeded, result: lastResult, reports: reports)
    }

    // MARK: - $timeout and $on_failure

    private enum Timed<T: Sendable>: Sendable {
        case finished(T)
        case timer(fired: Bool)
    }

    /// Runs `body` in a child task against a timer; nil when the timer fired first (the body is
    /// then cancelled, and awaited: commands stop promptly when their task is cancelled).
    static func racing<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: Timed<T>.self) { group in
            group.addTask { .finished(await body()) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timer(fired: true)
                } catch {
                    return .timer(fired: false)
                }
            }
            var result: T?
            var timedOut = false
            while let next = await group.next() {
                switch next {
                case .finished(let value):
                    if !timedOut { result = value }
                    group.cancelAll()
                case .timer(let fired):
                    if fired && result == nil {
                        timedOut = true
                        group.cancelAll()
                    }
                }
            }
            return result
        }
    }

    /// Runs a step's body, cancelled and failed "timed out after …" when it outlives its
    /// `$timeout`. A command step's timeout bounds each attempt instead (see ``runCommand``).
    func executeTimed(_ step: FlowStep, prefix: [InstancePart], siblings: [FlowStep]) async throws(FlowFailure) -> JSONValue {
        guard let timeout = step.options.timeout, step.kind != .command else {
            return try await executeBody(step, prefix: prefix, siblings: siblings)
        }
        let result = await Self.racing(timeout.duration) {
            await Self.capture { () async throws(FlowFailure) in
                try await self.executeBody(step, prefix: prefix, siblings: siblings)
            }
        }
        guard let result else {
            throw Self.failure(StepKey(prefix: prefix, id: step.id).display, "timed out after \(timeout.text)")
        }
        return try result.get()
    }

    /// The outcome of `body` as a value: task group children return values, not typed errors.
    static func capture(_ body: () async throws(FlowFailure) -> JSONValue) async -> Result<JSONValue, FlowFailure> {
        do throws(FlowFailure) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// After a step failed: runs its `$on_failure` handler with `$error`; the step then ends
    /// with the handler's outputs (`$continue: true`) or still fails. A canceled step, or one
    /// without a handler, ends as it did.
    func handle(_ failure: FlowFailure, of step: FlowStep, prefix: [InstancePart]) async throws(FlowFailure) -> JSONValue {
        guard case .failed(let message) = failure, let handler = step.options.onFailure else { throw failure }
        let key = StepKey(prefix: prefix, id: step.id)
        let attempts = store[key]?.attempts ?? 1
        setError(
            .object(["message": .string(message), "step": .string(key.display), "attempts": .integer(Int64(attempts))]), of: key)
        let outputs: JSONValue
        do throws(FlowFailure) {
            outputs = try await runSequence(handler, prefix: prefix)
        } catch {
            guard case .failed(let inner) = error else { throw error }
            throw .failed("\(message); its $on_failure handler failed too: \(inner)")
        }
        guard step.options.continueAfterHandler else { throw failure }
        write(outputs, to: key, .outputs)
        return outputs
    }

    // MARK: - Commands: $retry and $result

    /// Calls a command, retrying as its `$retry` says, and applies its `$result` filter.
    func runCommand(
        _ command: @escaping FlowCommand, _ call: FlowCommandCall, options: StepOptions, key: StepKey
    ) async throws(FlowFailure)
        -> JSONValue
    {
        let fullID = call.stepID
        let name = Self.quote(call.command)
        let policy = options.retry
        let maxAttempts = policy?.maxAttempts ?? 1
        var attempt = 1
        while true {
            let attemptOutcome = await Self.call(command, call, timeout: options.timeout?.duration)
            let problem: String
            switch attemptOutcome {
            case nil:
                problem = "timed out after \(options.timeout?.text ?? "")"
            case .failure(let error)?:
                if error is CancellationError || Task.isCancelled { throw .canceled("step \(Self.quote(fullID)): canceled") }
                problem = "command \(name) failed: \(Self.describe(error))"
            case .success(let outputs)?:
                if outputs.containsNonFiniteNumber, let bad = outputs.nonFiniteNumberPath() {
                    store[key, default: StepRecord()].attempts = attempt
                    throw Self.failure(fullID, "command \(name) returned a number that JSON cannot represent at \(bad)")
                }
                if let until = policy?.until, !(try truth(of: until, over: outputs, field: "$retry.until", stepID: fullID)) {
                    problem = "the outputs \(outputs.excerpt) do not satisfy $retry.until"
                } else {
                    store[key, default: StepRecord()].attempts = attempt
                    return try filtered(outputs, by: options.result, stepID: fullID)
                }
            }
            guard let policy, attempt < maxAttempts else {
                store[key, default: StepRecord()].attempts = attempt
                throw Self.failure(fullID, maxAttempts > 1 ? "\(problem) (after \(attempt) attempts)" : problem)
            }
            do {
                try await Task.sleep(for: policy.delay(after: attempt, random: Double.random(in: 0..<1)))
            } catch {
                throw .canceled("step \(Self.quote(fullID)): canceled")
            }
            attempt += 1
            await report(
                StepReport(
                    sequence: current.sequence, stepID: current.id, status: .processing,
                    error:
                        "step \(Self.quote(fullID)): attempt \(attempt) of \(maxAttempts); attempt \(attempt - 1): \(problem.prefix(4000))",
                    started: clock(), ended: nil))
            if await cancellationRequested() { throw .canceled("step \(Self.quote(fullID)): canceled") }
        }
    }

    /// One attempt of a command; nil when it outlived `timeout`.
    private static func call(
        _ command: @escaping FlowCommand, _ call: FlowCommandCall, timeout: Duration?
    ) async -> Result<
        JSONValue, any Error
    >? {
        @Sendable func attempt() async -> Result<JSONValue, any Error> {
            do {
                return .success(try await command(call))
            } catch {
                return .failure(error)
            }
        }
        guard let timeout else { return await attempt() }
        return await racing(timeout, attempt)
    }

    /// Whether a jq program's first output over `input` is truthy (not false, null or nothing).
    func truth(of program: JQProgram, over input: JSONValue, field: String, stepID: String) throws(FlowFailure) -> Bool {
        let value: JSONValue?
        do throws(ClaiflowError) {
            value = try program.first(input)
        } catch {
            throw Self.failure(stepID, "\(field): \(error.message)")
        }
        switch value {
        case nil, .null?, .bool(false)?: return false
        default: return true
        }
    }

    /// A command's outputs through its `$result` filter (its first output).
    private func filtered(_ outputs: JSONValue, by program: JQProgram?, stepID: String) throws(FlowFailure) -> JSONValue {
        guard let program else { return outputs }
        let value: JSONValue?
        do throws(ClaiflowError) {
            value = try program.first(outputs)
        } catch {
            throw Self.failure(stepID, "$result: \(error.message)")
        }
        guard let value else { throw Self.failure(stepID, "$result: the filter produced no value") }
        if value.containsNonFiniteNumber { throw Self.failure(stepID, "$result: produced a number that JSON cannot represent") }
        return value
    }

    // MARK: - Conditions, sequences, concurrency

    /// Runs a condition's program over `{inputs, steps: {ID: {inputs, outputs}}}` of the steps
    /// that ran in this step's scope (an inner step hides an outer one of the same id).
    func decide(_ condition: FlowStep.Condition, stepID: String, prefix: [InstancePart]) throws(FlowFailure) -> Bool {
        var steps: [String: JSONValue] = [:]
        let visible = store.filter { key, _ in
            key.prefix.count <= prefix.count && Array(prefix.prefix(key.prefix.count)) == key.prefix
        }
        for (key, record) in visible.sorted(by: { $0.key.prefix.count < $1.key.prefix.count }) {
            var entry: [String: JSONValue] = [:]
            if let inputs = record.inputs { entry["inputs"] = inputs }
            if let outputs = record.outputs { entry["outputs"] = outputs }
            steps[key.id] = .object(entry)
        }
        let context = JSONValue.object(["inputs": inputs, "steps": .object(steps)])
        return try truth(of: condition.program, over: context, field: "$if", stepID: stepID)
    }

    /// Runs steps one after the other; returns the last one's outputs (null when there is none).
    func runSequence(_ steps: [FlowStep], prefix: [InstancePart]) async throws(FlowFailure) -> JSONValue {
        var last = JSONValue.null
        for step in steps {
            if await cancellationRequested() {
                throw .canceled("step \(Self.quote(StepKey(prefix: prefix, id: step.id).display)): canceled")
            }
            last = try await execute(step, prefix: prefix, siblings: steps)
        }
        return last
    }

    /// Runs the steps of one iteration instance; returns their outputs in order.
    func iteration(
        _ step: FlowStep, children: [FlowStep], index: Int, prefix: [InstancePart]
    ) async throws(FlowFailure)
        -> [JSONValue]
    {
        let childPrefix = prefix + [InstancePart(id: step.id, index: index)]
        var outputs: [JSONValue] = []
        for child in children {
            if await cancellationRequested() {
                throw .canceled("step \(Self.quote(StepKey(prefix: prefix, id: step.id).display)): canceled")
            }
            outputs.append(try await execute(child, prefix: childPrefix, siblings: children))
        }
        forgetInstance(StepKey(prefix: prefix, id: step.id), index)
        return outputs
    }

    /// Runs `count` jobs, at most `limit` at a time; returns their values in index order. The
    /// first failure cancels the jobs still running and is thrown (a real failure rather than
    /// the cancellations it caused).
    func concurrently(
        _ count: Int, limit: Int, _ job: @escaping @Sendable (Int) async -> Result<JSONValue, FlowFailure>
    ) async throws(FlowFailure) -> [JSONValue] {
        var values = [JSONValue](repeating: .null, count: count)
        var failure: FlowFailure?
        await withTaskGroup(of: (Int, Result<JSONValue, FlowFailure>).self) { group in
            var next = 0
            while next < min(max(limit, 1), count) {
                let index = next
                group.addTask { (index, await job(index)) }
                next += 1
            }
            while let (index, result) = await group.next() {
                switch result {
                case .success(let value):
                    values[index] = value
                    if failure == nil && next < count {
                        let index = next
                        group.addTask { (index, await job(index)) }
                        next += 1
                    }
                case .failure(let error):
                    switch (failure, error) {
                    case (nil, _), (.canceled?, .failed): failure = error
                    default: break
                    }
                    group.cancelAll()
                }
            }
        }
        if let failure { throw failure }
        return values
    }
}
