import ClaiflowCore
import Testing

@testable import ClaiflowFlow

@Suite("Timeouts")
struct TimeoutTests {
    @Test func aStepPastItsTimeoutIsCancelledAndFails() async throws {
        let commands = V2Commands()
        let log = CallLog()
        let flow = """
            [{"$id":"s","$command":"sleep","inputs":{"ms":60000},"$timeout":"50ms"},
             {"$id":"z","$command":"echo"}]
            """
        let outcome = try await runV2(flow, commands: commands, log: log)
        #expect(outcome.status == .failed)
        #expect(outcome.error == #"step "s": timed out after 50ms"#)
        #expect(outcome.reports.map(\.status) == [.processing, .failed])
        #expect(commands.cancelled == 1)
        #expect(log.all.isEmpty)
    }

    @Test func aStepWithinItsTimeoutSucceeds() async throws {
        let outcome = try await runV2(#"[{"$id":"s","$command":"sleep","inputs":{"ms":1},"$timeout":"1m"}]"#)
        #expect(outcome.result == #"{"ms":1}"#)
    }

    @Test func theTimeoutOfAnIterationCoversAllItsSteps() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"it","$range":[1,2,3],"$timeout":"100ms","$steps":[{"$id":"c","$command":"sleep","inputs":{"ms":60000}}]}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.error == #"step "it": timed out after 100ms"#)
        #expect(commands.cancelled == 1)
    }

    @Test func eachAttemptHasItsOwnTimeout() async throws {
        // The first attempt hangs; the second is quick.
        let commands = V2Commands()
        var extra = commands.commands
        let calls = CallLog()
        extra["hang_once"] = { call in
            calls.append(call)
            if calls.all.count == 1 { try await Task.sleep(for: .seconds(60)) }
            return .string("done")
        }
        let flow = #"[{"$id":"h","$command":"hang_once","$timeout":"50ms","$retry":{"max_attempts":2,"backoff":"1ms"}}]"#
        let outcome = try await run(flow, extra: extra)
        #expect(outcome.result == #""done""#)
        #expect(outcome.reports[1].error == #"step "h": attempt 2 of 2; attempt 1: timed out after 50ms"#)
    }

    @Test func anOuterCancellationIsNotATimeout() async throws {
        let commands = V2Commands()
        let task = Task {
            try await runV2(#"[{"$id":"s","$command":"sleep","inputs":{"ms":60000},"$timeout":"1h"}]"#, commands: commands)
        }
        try await waitFor { commands.mostActive >= 1 }
        task.cancel()
        let outcome = try await task.value
        #expect(outcome.status == .canceled)
        #expect(outcome.error == #"step "s": canceled"#)
    }
}
