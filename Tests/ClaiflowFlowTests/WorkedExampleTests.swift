import ClaiflowCore
import Testing

@testable import ClaiflowFlow

/// The worked examples of protocol §5.7 produce the original's reports and results.
@Suite("Worked examples (§5.7)")
struct WorkedExampleTests {
    @Test func exampleSimple() async throws {
        let flowText = #"[{"$id":"step1","$command":"helloworld","inputs":"$inputs"}]"#
        let flow = try Flow.parse(flowText)
        #expect(flow.stepMax == 1)
        #expect(flow.commandNames == ["helloworld"])
        let log = CallLog()
        let outcome = try await run(flowText, inputs: #"{"name":"world"}"#, log: log)
        #expect(log.all.first?.inputs == (try json(#"{"name":"world"}"#)))
        #expect(outcome.status == .succeeded)
        #expect(outcome.result == #""hello world""#)
        #expect(outcome.reports.map(\.sequence) == [0, 0])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded])
        #expect(outcome.reports.map(\.result) == ["", #""hello world""#])
        #expect(outcome.reports[0].ended == nil)
        #expect(outcome.reports[1].started == outcome.reports[0].started)
        if let ended = outcome.reports[1].ended { #expect(ended > outcome.reports[1].started) }
    }

    @Test func exampleIter() async throws {
        let flowText = """
            [{"$id":"step1","$range":"$inputs.x_list","$steps":[{"$id":"step2","$command":"math_pow","inputs":{"x":"$step1.val","y":2}}]}]
            """
        #expect(try Flow.parse(flowText).stepMax == 1)
        let log = CallLog()
        let outcome = try await run(flowText, inputs: #"{"x_list":[1,2,3,4,5]}"#, log: log)
        #expect(outcome.status == .succeeded)
        #expect(outcome.result == "[1,4,9,16,25]")
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded])
        #expect(log.stepIDs == ["step1[0].step2", "step1[1].step2", "step1[2].step2", "step1[3].step2", "step1[4].step2"])
        #expect(log.all.map(\.inputs) == (try [1, 2, 3, 4, 5].map { try json(#"{"x":\#($0),"y":2}"#) }))
    }

    @Test func examplePassVal() async throws {
        let flowText = """
            [{"$id":"step1","$command":"swap_command","inputs":{"param1":"$inputs.input1","param2":"$inputs.input2"}},
             {"$id":"step2","$command":"swap_command","inputs":{"param1":"$step1.outputs.value1","param2":"$step1.outputs.value2"}}]
            """
        #expect(try Flow.parse(flowText).stepMax == 2)
        let outcome = try await run(flowText, inputs: #"{"input1":"foo","input2":"bar"}"#)
        #expect(outcome.status == .succeeded)
        #expect(outcome.reports.map(\.sequence) == [0, 0, 1, 1])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .succeeded])
        #expect(
            outcome.reports.map(\.result) == ["", #"{"value1":"bar","value2":"foo"}"#, "", #"{"value1":"foo","value2":"bar"}"#])
        #expect(outcome.result == #"{"value1":"foo","value2":"bar"}"#)
    }
}
