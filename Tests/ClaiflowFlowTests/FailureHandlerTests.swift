import ClaiflowCore
import Foundation
import Testing

@testable import ClaiflowFlow

@Suite("Failure handlers and result filters")
struct FailureHandlerTests {
    @Test func theHandlerSeesTheErrorAndTheFlowStillFailsByDefault() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":"ns1"}},
             {"$id":"b","$command":"flaky","inputs":{"failures":9},"$retry":{"max_attempts":2,"backoff":"1ms"},
              "$on_failure":[{"$id":"h","$command":"echo","inputs":{"error":"$error","msg":"$error.message","ns":"$a.outputs","in":"$b.inputs"}}]},
             {"$id":"z","$command":"echo"}]
            """
        let outcome = try await runV2(flow, log: log)
        #expect(outcome.status == .failed)
        #expect(outcome.error == #"step "b": command "flaky" failed: call 2 of flaky failed (after 2 attempts)"#)
        #expect(log.stepIDs == ["a", "h"])
        let handled = try #require(log.all.last?.inputs)
        #expect(
            try handled
                == json(
                    #"{"error":{"attempts":2,"message":"step \"b\": command \"flaky\" failed: call 2 of flaky failed (after 2 attempts)","step":"b"},"#
                        + #""msg":"step \"b\": command \"flaky\" failed: call 2 of flaky failed (after 2 attempts)","ns":"ns1","in":{"failures":9}}"#
                ))
    }

    @Test func withContinueTheStepEndsWithTheHandlersOutputs() async throws {
        let flow = """
            [{"$id":"it","$range":[1,2],"$steps":[
                {"$id":"b","$command":"fail","inputs":{"message":"no"},"$continue":true,
                 "$on_failure":[{"$id":"h","$command":"echo","inputs":{"fallback":"$it.val","step":"$error.step"}}]}]},
             {"$id":"z","$command":"echo","inputs":{"all":"$it.outputs"}}]
            """
        #expect(try await result(flow) == json(#"{"all":[{"fallback":1,"step":"it[0].b"},{"fallback":2,"step":"it[1].b"}]}"#))
    }

    @Test func aFailingHandlerAddsItsError() async throws {
        let flow = """
            [{"$id":"b","$command":"fail","inputs":{"message":"first"},"$continue":true,
              "$on_failure":[{"$id":"h","$command":"fail","inputs":{"message":"second"}}]}]
            """
        #expect(
            try await failure(flow)
                == #"step "b": command "fail" failed: first; its $on_failure handler failed too: step "h": command "fail" failed: second"#
        )
    }

    @Test func aTimeoutRunsTheHandlerButACancellationDoesNot() async throws {
        let log = CallLog()
        let flow = """
            [{"$id":"s","$command":"sleep","inputs":{"ms":60000},"$timeout":"20ms","$continue":true,
              "$on_failure":[{"$id":"h","$command":"echo","inputs":{"e":"$error.message"}}]}]
            """
        #expect(try await runV2(flow, log: log).result == #"{"e":"step \"s\": timed out after 20ms"}"#)
        let commands = V2Commands()
        let canceled = CallLog()
        let task = Task { try await runV2(flow.replacingOccurrences(of: "20ms", with: "1h"), commands: commands, log: canceled) }
        try await waitFor { commands.mostActive >= 1 }
        task.cancel()
        #expect(try await task.value.status == .canceled)
        #expect(canceled.stepIDs.isEmpty)
    }

    @Test func resultFiltersShrinkTheOutputsThatAreStoredAndPassedOn() async throws {
        let flow = """
            [{"$id":"pods","$command":"echo","inputs":{"items":[{"metadata":{"name":"web-0","uid":"1"}},{"metadata":{"name":"web-1","uid":"2"}}]},
              "$result":".items | map(.metadata.name)"},
             {"$id":"z","$command":"echo","inputs":{"first":"$pods.outputs[0]","all":"$pods.outputs"}}]
            """
        let outcome = try await run(flow)
        #expect(outcome.reports[1].result == #"["web-0","web-1"]"#)
        #expect(outcome.result == #"{"all":["web-0","web-1"],"first":"web-0"}"#)
        #expect(
            try await failure(#"[{"$id":"a","$command":"echo","$result":"empty"}]"#)
                == #"step "a": $result: the filter produced no value"#)
        let bad = try await failure(#"[{"$id":"a","$command":"echo","inputs":{"x":"a"},"$result":".x + 1"}]"#)
        #expect(bad?.hasPrefix(#"step "a": $result: "#) == true)
    }
}
