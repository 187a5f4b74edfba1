import ClaiflowCore
import Foundation
import Testing

@testable import ClaiflowFlow

@Suite("Parallel branches and concurrent iterations")
struct ParallelTests {
    @Test func branchesRunAtTheSameTimeAndLaterStepsReadTheirSteps() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"p","$parallel":[
                [{"$id":"a1","$command":"meet","inputs":{"parties":2,"value":"A"}},{"$id":"a2","$command":"echo","inputs":{"a":"$a1.outputs"}}],
                [{"$id":"b1","$command":"meet","inputs":{"parties":2,"value":"B"}}],
                []]},
             {"$id":"z","$command":"echo","inputs":{"p":"$p.outputs","a1":"$a1.outputs","b":"$b1.outputs"}}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.status == .succeeded, "\(outcome.error ?? "")")
        #expect(commands.mostActive == 2)
        #expect(outcome.reports[1].result == #"[{"a":"A"},"B",null]"#)
        #expect(outcome.result == #"{"a1":"A","b":"B","p":[{"a":"A"},"B",null]}"#)
    }

    @Test func maxConcurrencyBoundsTheBranches() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"p","$max_concurrency":2,"$parallel":[
                [{"$id":"a","$command":"sleep","inputs":{"ms":20}}],[{"$id":"b","$command":"sleep","inputs":{"ms":20}}],
                [{"$id":"c","$command":"sleep","inputs":{"ms":20}}],[{"$id":"d","$command":"sleep","inputs":{"ms":20}}]]}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.result == #"[{"ms":20},{"ms":20},{"ms":20},{"ms":20}]"#)
        #expect(commands.mostActive <= 2)
        let one = V2Commands()
        _ = try await runV2(
            flow.replacingOccurrences(of: #""$max_concurrency":2"#, with: #""$max_concurrency":1"#), commands: one)
        #expect(one.mostActive == 1)
    }

    @Test func aFailingBranchCancelsTheOthersAndFailsTheStep() async throws {
        let commands = V2Commands()
        let log = CallLog()
        let flow = """
            [{"$id":"p","$parallel":[
                [{"$id":"slow","$command":"sleep","inputs":{"ms":60000}},{"$id":"never","$command":"echo"}],
                [{"$id":"wait","$command":"meet","inputs":{"key":"w","parties":1}},{"$id":"bad","$command":"fail","inputs":{"message":"broken"}}]]}]
            """
        let outcome = try await runV2(flow, commands: commands, log: log)
        #expect(outcome.status == .failed)
        #expect(outcome.error == #"step "bad": command "fail" failed: broken"#)
        #expect(commands.cancelled == 1)
        #expect(!log.stepIDs.contains("never"))
    }

    @Test func concurrentIterationsKeepTheirOrderAndTheirOwnElement() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"it","$range":["a","b","c"],"$max_concurrency":3,"$steps":[
                {"$id":"m","$command":"meet","inputs":{"parties":3,"value":"$it.val"}},
                {"$id":"e","$command":"echo","inputs":{"v":"$it.val","k":"$it.key","m":"$m.outputs","old":"$it[$it.key].$m.outputs"}}]},
             {"$id":"z","$command":"echo","inputs":{"last":"$it.val","key":"$it.key","first":"$it[0].e.outputs.v"}}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.status == .succeeded, "\(outcome.error ?? "")")
        #expect(commands.mostActive == 3)
        #expect(
            try json(outcome.reports[1].result)
                == json(
                    #"["a",{"k":0,"m":"a","old":"a","v":"a"},"b",{"k":1,"m":"b","old":"b","v":"b"},"c",{"k":2,"m":"c","old":"c","v":"c"}]"#
                ))
        #expect(outcome.result == #"{"first":"a","key":2,"last":"c"}"#)
    }

    @Test func aBranchCannotReadAnotherBranchButCanReadItsOwn() {
        let other = parseError(
            """
            [{"$id":"p","$parallel":[[{"$id":"a","$command":"x"}],[{"$id":"b","$command":"x","inputs":{"v":"$a.outputs"}}]]}]
            """)
        #expect(
            other?.hasPrefix(
                #"flow[0].$parallel[1][0] (step "b"): inputs.v: reference "$a.outputs": step "a" is in a branch of parallel step "p""#
            ) == true)
        let inside = parseError(#"[{"$id":"p","$parallel":[[{"$id":"a","$command":"x","inputs":{"v":"$p.outputs"}}]]}]"#)
        #expect(inside?.hasSuffix(#"step "p" contains this step, so its outputs are not complete yet"#) == true)
    }
}
