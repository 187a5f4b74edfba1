import ClaiflowCore
import Synchronization
import Testing

@testable import ClaiflowFlow

@Suite("Engine")
struct EngineTests {
    @Test func successReportsEveryTopLevelStepInOrder() async throws {
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":1}},
             {"$id":"it","$range":[1,2],"$steps":[{"$id":"c","$command":"emit","inputs":{"value":"$it.val"}}]},
             {"$id":"b","$command":"emit","inputs":{"value":"done"}}]
            """
        let collected = Mutex<[StepReport]>([])
        let parsed = try Flow.parse(flow)
        let clock = TickingClock()
        let engine = FlowEngine(commands: fakeCommands(), clock: { clock.read() })
        let outcome = await engine.run(
            parsed, inputs: .object([:]), onStep: { report in collected.withLock { $0.append(report) } })
        #expect(outcome.status == .succeeded)
        #expect(outcome.result == #""done""#)
        #expect(outcome.error == nil)
        #expect(collected.withLock { $0 } == outcome.reports)
        #expect(outcome.reports.map(\.sequence) == [0, 0, 1, 1, 2, 2])
        #expect(outcome.reports.map(\.stepID) == ["a", "a", "it", "it", "b", "b"])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .succeeded, .processing, .succeeded])
        #expect(outcome.reports.map(\.result) == ["", "1", "", "[1,2]", "", #""done""#])
        #expect(outcome.reports.allSatisfy { $0.error.isEmpty })
        // Times: processing has no end; each success ends after it started; steps do not overlap.
        var previousEnd: Timestamp?
        for pair in stride(from: 0, to: outcome.reports.count, by: 2) {
            let processing = outcome.reports[pair]
            let done = outcome.reports[pair + 1]
            #expect(processing.ended == nil)
            #expect(done.started == processing.started)
            let ended = try #require(done.ended)
            #expect(ended > done.started)
            if let previousEnd { #expect(processing.started > previousEnd) }
            previousEnd = ended
        }
    }

    @Test func aFailingStepStopsTheFlow() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":1}},
             {"$id":"b","$command":"fail","inputs":{"message":"disk full"}},
             {"$id":"c","$command":"emit","inputs":{"value":3}}]
            """
        let outcome = try await run(flow, log: log)
        #expect(outcome.status == .failed)
        #expect(outcome.result == nil)
        #expect(outcome.error == #"step "b": command "fail" failed: disk full"#)
        #expect(outcome.reports.map(\.sequence) == [0, 0, 1, 1])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .failed])
        #expect(outcome.reports[3].result == "")
        #expect(outcome.reports[3].error == #"step "b": command "fail" failed: disk full"#)
        #expect(outcome.reports[3].ended != nil)
        #expect(log.stepIDs == ["a", "b"])
    }

    @Test func aFailureInsideAnIterationFailsItsTopLevelStep() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"it","$range":[1,2,3],"$steps":[
                {"$id":"c","$command":"echo","inputs":{"n":"$it.val"}},
                {"$id":"d","$command":"fail","inputs":{"message":"$$boom"}}]},
             {"$id":"z","$command":"echo"}]
            """
        let outcome = try await run(flow, log: log)
        #expect(outcome.error == #"step "it[0].d": command "fail" failed: $boom"#)
        #expect(outcome.reports.map(\.status) == [.processing, .failed])
        #expect(log.stepIDs == ["it[0].c", "it[0].d"])
    }

    @Test func unknownCommandFailsTheStep() async throws {
        let outcome = try await run(#"[{"$id":"a","$command":"emit"},{"$id":"b","$command":"nope.v1","inputs":{"x":1}}]"#)
        #expect(outcome.status == .failed)
        #expect(outcome.error == #"step "b": command "nope.v1" is not registered"#)
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .failed])
    }

    @Test func commandErrorsUseTheirMessage() async throws {
        struct Custom: Error, CustomStringConvertible { var description: String { "custom text" } }
        let extra: [String: FlowCommand] = [
            "claiflow": { _ in throw ClaiflowError(.invalidArgument, "name is required") },
            "custom": { _ in throw Custom() },
        ]
        let first = try await run(#"[{"$id":"a","$command":"claiflow"}]"#, extra: extra)
        #expect(first.error == #"step "a": command "claiflow" failed: name is required"#)
        let second = try await run(#"[{"$id":"a","$command":"custom"}]"#, extra: extra)
        #expect(second.error == #"step "a": command "custom" failed: custom text"#)
    }

    @Test func inputsReferencesOfTopLevelStepsAreCheckedBeforeAnythingRuns() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":1}},
             {"$id":"b","$command":"echo","inputs":{"ns":"$inputs.namespace"}}]
            """
        let outcome = try await run(flow, inputs: #"{"name":"x"}"#, log: log)
        #expect(outcome.status == .failed)
        #expect(log.all.isEmpty)
        #expect(outcome.reports.count == 1)
        let report = try #require(outcome.reports.first)
        #expect(report.sequence == 0)
        #expect(report.status == .failed)
        #expect(report.started == report.ended)
        #expect(report.error == #"step "b": inputs.ns: reference "$inputs.namespace": .namespace not found in the inputs"#)
    }

    @Test func stringFormInputsMustBeAnObjectBeforeAnythingRuns() async throws {
        let outcome = try await run(#"[{"$id":"a","$command":"echo","inputs":"$inputs.list"}]"#, inputs: #"{"list":[1]}"#)
        #expect(outcome.reports.count == 1)
        #expect(outcome.error == #"step "a": inputs: reference "$inputs.list" resolved to array [1], expected an object"#)
    }

    @Test func nestedInputsReferencesFailWhenTheyRun() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":1}},
             {"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"echo","inputs":{"x":"$inputs.nope"}}]}]
            """
        let outcome = try await run(flow, log: log)
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .failed])
        #expect(outcome.error == #"step "it[0].c": inputs.x: reference "$inputs.nope": .nope not found in the inputs"#)
        // An empty range never evaluates them.
        let empty = try await run(
            #"[{"$id":"it","$range":[],"$steps":[{"$id":"c","$command":"echo","inputs":{"x":"$inputs.nope"}}]}]"#)
        #expect(empty.status == .succeeded)
        #expect(empty.result == "null")
    }

    @Test func cancellationAtATopLevelBoundary() async throws {
        let log = CallLog()
        let flow = #"[{"$id":"a","$command":"emit","inputs":{"value":1}},{"$id":"b","$command":"emit","inputs":{"value":2}}]"#
        let outcome = try await run(flow, log: log, isCancelled: { log.all.count >= 1 })
        #expect(outcome.status == .canceled)
        #expect(outcome.error == nil)
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded])
        #expect(log.stepIDs == ["a"])
    }

    @Test func cancellationBeforeTheFirstStep() async throws {
        let log = CallLog()
        let outcome = try await run(#"[{"$id":"a","$command":"emit"}]"#, log: log, isCancelled: { true })
        #expect(outcome.status == .canceled)
        #expect(outcome.reports.isEmpty)
        #expect(log.all.isEmpty)
    }

    @Test("a step refused on its processing report (canceled, or no longer held by this agent) never runs")
    func cancellationOnTheProcessingReport() async throws {
        let log = CallLog()
        let refused = Mutex(false)
        let flow = try Flow.parse(#"[{"$id":"a","$command":"emit","inputs":{"value":1}}]"#)
        let outcome = await FlowEngine(commands: fakeCommands(log: log)).run(
            flow, inputs: .null, onStep: { report in if report.status == .processing { refused.withLock { $0 = true } } },
            isCancelled: { refused.withLock { $0 } })
        #expect(outcome.status == .canceled)
        #expect(outcome.reports.map(\.status) == [.processing])
        #expect(log.all.isEmpty)
    }

    @Test func cancellationInsideAnIteration() async throws {
        let log = CallLog()
        let flow = #"[{"$id":"it","$range":[1,2,3],"$steps":[{"$id":"c","$command":"echo","inputs":{"n":"$it.val"}}]}]"#
        let outcome = try await run(flow, log: log, isCancelled: { log.all.count >= 2 })
        #expect(outcome.status == .canceled)
        #expect(outcome.error == #"step "it": canceled"#)
        #expect(outcome.reports.map(\.status) == [.processing, .failed])
        #expect(log.stepIDs == ["it[0].c", "it[1].c"])
    }

    @Test func cancellationErrorFromACommandCancelsTheRun() async throws {
        let outcome = try await run(#"[{"$id":"a","$command":"stop"}]"#, extra: ["stop": { _ in throw CancellationError() }])
        #expect(outcome.status == .canceled)
        #expect(outcome.reports.map(\.status) == [.processing, .failed])
    }

    @Test func taskCancellationIsObservedAtStepBoundaries() async throws {
        let flow = try Flow.parse(#"[{"$id":"a","$command":"block"},{"$id":"b","$command":"emit"}]"#)
        let started = AsyncStream<Void>.makeStream()
        let engine = FlowEngine(
            commands: fakeCommands().merging([
                "block": { _ in
                    started.continuation.yield()
                    // Wait (cooperatively) until the task is cancelled, then finish normally.
                    while !Task.isCancelled { await Task.yield() }
                    return .string("interrupted")
                }
            ]) { $1 })
        let task = Task { await engine.run(flow, inputs: .null) }
        for await _ in started.stream { break }
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .canceled)
        #expect(outcome.reports.map(\.stepID) == ["a", "a"])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded])
    }

    @Test func stepsWithoutInputsGetNil() async throws {
        let log = CallLog()
        _ = try await run(#"[{"$id":"a","$command":"echo"},{"$id":"b","$command":"echo","inputs":{}}]"#, log: log)
        #expect(log.all.map(\.inputs) == [nil, .object([:])])
    }

    @Test func nonFiniteNumbersFailTheStep() async throws {
        let outcome = try await run(
            #"[{"$id":"a","$command":"nan"}]"#, extra: ["nan": { _ in .object(["v": .array([.number(.nan)])]) }])
        #expect(outcome.error == #"step "a": command "nan" returned a number that JSON cannot represent at outputs.v[0]"#)
    }

    @Test func rangeSources() async throws {
        // null → zero iterations, outputs null.
        #expect(
            try await run(
                #"[{"$id":"it","$range":"$inputs.l","$steps":[{"$id":"c","$command":"echo"}]}]"#, inputs: #"{"l":null}"#
            ).result == "null")
        // A scalar is an error (the original silently ran zero iterations).
        let scalar = try await failure(#"[{"$id":"it","$range":"$inputs.l","$steps":[]}]"#, inputs: #"{"l":"abc"}"#)
        #expect(scalar == #"step "it": $range: resolved to string "abc", expected an array"#)
        let object = try await failure(#"[{"$id":"it","$range":"$inputs.l","$steps":[]}]"#, inputs: #"{"l":{"a":1}}"#)
        #expect(object == #"step "it": $range: resolved to object {"a":1}, expected an array"#)
        // An array with references inside.
        let mixed = try await result(
            #"[{"$id":"it","$range":["$inputs.a",{"k":"$inputs.b"}],"$steps":[{"$id":"c","$command":"echo","inputs":{"v":"$it.val"}}]}]"#,
            inputs: #"{"a":1,"b":2}"#)
        #expect(mixed == (try json(#"[{"v":1},{"v":{"k":2}}]"#)))
    }

    @Test func iterationOutputsAreFlatAndNestedIterationsContributeArrays() async throws {
        let flow = """
            [{"$id":"o","$range":[1,2],"$steps":[
                {"$id":"c1","$command":"emit","inputs":{"value":"$o.val"}},
                {"$id":"c2","$command":"emit","inputs":{"value":"x"}},
                {"$id":"i","$range":["p","q"],"$steps":[{"$id":"d","$command":"emit","inputs":{"value":"$i.val"}}]},
                {"$id":"e","$range":[],"$steps":[{"$id":"f","$command":"emit"}]}]}]
            """
        #expect(try await result(flow) == json(#"[1,"x",["p","q"],null,2,"x",["p","q"],null]"#))
    }

    @Test func printStep() async throws {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":"one"}},
             {"$id":"it","$range":[1,2],"$steps":[{"$id":"c","$command":"echo","inputs":{"n":"$it.val"}}]},
             {"$id":"p","$print":{"hide":HIDE}},
             {"$id":"later","$command":"emit"}]
            """
        let all = """
            [{"id":"s1","command":"emit","inputs":{"value":"one"},"outputs":"one"},
             [{"id":"it[0].c","command":"echo","inputs":{"n":1},"outputs":{"n":1}},
              {"id":"it[1].c","command":"echo","inputs":{"n":2},"outputs":{"n":2}}],
             {"id":"later","command":"emit"}]
            """
        let outcome = try await run(flow.replacingOccurrences(of: "HIDE", with: "[]"))
        #expect(try json(outcome.reports[5].result) == json(all))
        #expect(outcome.result == "null")
        let hidden = try await run(flow.replacingOccurrences(of: "HIDE", with: #"["c","later"]"#))
        #expect(
            try json(hidden.reports[5].result)
                == json(#"[{"id":"s1","command":"emit","inputs":{"value":"one"},"outputs":"one"},[]]"#))
        let byReference = try await run(
            flow.replacingOccurrences(of: "HIDE", with: #""$inputs.hide""#), inputs: #"{"hide":["it","s1"]}"#)
        #expect(try json(byReference.reports[5].result) == json(#"[{"id":"later","command":"emit"}]"#))
        let bad = try await run(flow.replacingOccurrences(of: "HIDE", with: #""$inputs.hide""#), inputs: #"{"hide":"s1"}"#)
        #expect(
            bad.error == #"step "p": $print.hide: reference "$inputs.hide" resolved to string, expected an array of step ids"#)
    }

    @Test func manyRunsConcurrently() async throws {
        let flow = try Flow.parse(
            """
            [{"$id":"it","$range":"$inputs.xs","$steps":[{"$id":"c","$command":"math_pow","inputs":{"x":"$it.val","y":2}}]},
             {"$id":"sum","$command":"echo","inputs":{"squares":"$it.outputs","first":"$it[0].$c.outputs","n":"$inputs.n"}}]
            """)
        let engine = FlowEngine(commands: fakeCommands())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<100 {
                group.addTask {
                    let xs = (0..<5).map { JSONValue.integer(Int64(n + $0)) }
                    let outcome = await engine.run(flow, inputs: .object(["xs": .array(xs), "n": .integer(Int64(n))]))
                    #expect(outcome.status == .succeeded)
                    let squares = (0..<5).map { String((n + $0) * (n + $0)) }.joined(separator: ",")
                    #expect(outcome.result == #"{"first":\#(n * n),"n":\#(n),"squares":[\#(squares)]}"#)
                }
            }
            try await group.waitForAll()
        }
    }
}
