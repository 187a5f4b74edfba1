import ClaiflowCore
import Testing

@testable import ClaiflowFlow

@Suite("Conditions")
struct ConditionTests {
    static let flow = """
        [{"$id":"a","$command":"emit","inputs":{"value":"$inputs.n"}},
         {"$id":"c","$if":".steps.a.outputs > 1 and .inputs.mode == \\"fast\\"",
          "$then":[{"$id":"t1","$command":"emit","inputs":{"value":"then-1"}},{"$id":"t2","$command":"echo","inputs":{"from":"$t1.outputs","a":"$a.outputs"}}],
          "$else":[{"$id":"e1","$command":"emit","inputs":{"value":"else"}}]},
         {"$id":"z","$command":"echo","inputs":{"c":"$c.outputs"}}]
        """

    @Test func aTrueConditionRunsThenAndItsOutputsAreTheBranchsLast() async throws {
        let log = CallLog()
        let outcome = try await run(Self.flow, inputs: #"{"n":2,"mode":"fast"}"#, log: log)
        #expect(outcome.status == .succeeded)
        #expect(log.stepIDs == ["a", "t1", "t2", "z"])
        #expect(outcome.reports.map(\.sequence) == [0, 0, 1, 1, 2, 2])
        #expect(outcome.reports[3].result == #"{"a":2,"from":"then-1"}"#)
        #expect(outcome.result == #"{"c":{"a":2,"from":"then-1"}}"#)
    }

    @Test func aFalseConditionRunsElse() async throws {
        let log = CallLog()
        let outcome = try await run(Self.flow, inputs: #"{"n":1,"mode":"fast"}"#, log: log)
        #expect(log.stepIDs == ["a", "e1", "z"])
        #expect(outcome.result == #"{"c":"else"}"#)
        let null = try await run(Self.flow, inputs: #"{"n":5,"mode":null}"#, log: CallLog())
        #expect(null.result == #"{"c":"else"}"#)
    }

    @Test func withoutElseAFalseConditionOutputsNull() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"c","$condition":".inputs.go","$then":[{"$id":"t","$command":"emit","inputs":{"value":1}}]},
             {"$id":"z","$command":"echo","inputs":{"c":"$c.outputs"}}]
            """
        #expect(try await run(flow, inputs: #"{"go":false}"#, log: log).result == #"{"c":null}"#)
        #expect(log.stepIDs == ["z"])
        #expect(try await run(flow, inputs: #"{"go":"yes"}"#).result == #"{"c":1}"#)
        // No output at all is false too.
        #expect(try await run(flow, inputs: #"{"go":[]}"#).result == #"{"c":1}"#)
        let empty = #"[{"$id":"c","$if":"empty","$then":[{"$id":"t","$command":"emit","inputs":{"value":1}}]}]"#
        #expect(try await run(empty).result == "null")
    }

    @Test func insideAnIterationTheConditionSeesTheInstancesSteps() async throws {
        let flow = """
            [{"$id":"it","$range":[1,5,2],"$steps":[
               {"$id":"v","$command":"emit","inputs":{"value":"$it.val"}},
               {"$id":"c","$if":".steps.v.outputs >= 2","$then":[{"$id":"big","$command":"emit","inputs":{"value":"$$big"}}],
                "$else":[{"$id":"small","$command":"emit","inputs":{"value":"$v.outputs"}}]}]}]
            """
        #expect(try await result(flow) == json(#"[1,1,5,"$big",2,"$big"]"#))
    }

    @Test func aJQErrorFailsTheStep() async throws {
        let outcome = try await run(#"[{"$id":"c","$if":".inputs.x + 1","$then":[]}]"#, inputs: #"{"x":"a"}"#)
        #expect(outcome.status == .failed)
        let error = try #require(outcome.error)
        #expect(error.hasPrefix(#"step "c": $if: "#))
        #expect(error.contains("cannot be added"))
    }

    @Test func theConditionIsSandboxed() async throws {
        let flow = #"[{"$id":"c","$if":"$ENV | length > 0","$then":[{"$id":"t","$command":"emit","inputs":{"value":1}}]}]"#
        #expect(try await run(flow).result == "null")
    }

    @Test func printShowsTheBranchThatRan() async throws {
        let flow = """
            [{"$id":"c","$if":"true","$then":[{"$id":"t","$command":"emit","inputs":{"value":1}}],
              "$else":[{"$id":"e","$command":"emit","inputs":{"value":2}}]},
             {"$id":"p","$parallel":[[{"$id":"b1","$command":"emit","inputs":{"value":3}}],[]]},
             {"$id":"show","$print":{}}]
            """
        #expect(
            try await result(flow)
                == json(
                    #"[[{"command":"emit","id":"t","inputs":{"value":1},"outputs":1}],[[{"command":"emit","id":"b1","inputs":{"value":3},"outputs":3}],[]]]"#
                ))
    }
}
