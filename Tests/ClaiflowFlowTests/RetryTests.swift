import ClaiflowCore
import Testing

@testable import ClaiflowFlow

@Suite("Retries")
struct RetryTests {
    @Test func aStepThatFailsTwiceSucceedsOnItsThirdAttemptAndEachAttemptIsReported() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"a","$command":"emit","inputs":{"value":0}},
             {"$id":"b","$command":"flaky","inputs":{"failures":2,"value":"ok"},"$retry":{"max_attempts":3,"backoff":"1ms"}}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.status == .succeeded)
        #expect(outcome.result == #""ok""#)
        #expect(commands.count("flaky") == 3)
        #expect(outcome.reports.map(\.sequence) == [0, 0, 1, 1, 1, 1])
        #expect(outcome.reports.map(\.status) == [.processing, .succeeded, .processing, .processing, .processing, .succeeded])
        #expect(
            outcome.reports[3].error
                == #"step "b": attempt 2 of 3; attempt 1: command "flaky" failed: call 1 of flaky failed"#)
        #expect(
            outcome.reports[4].error
                == #"step "b": attempt 3 of 3; attempt 2: command "flaky" failed: call 2 of flaky failed"#)
        // Attempt reports start when their attempt does; the final report keeps the step's start.
        #expect(outcome.reports[5].started == outcome.reports[2].started)
        #expect(outcome.reports[4].started > outcome.reports[3].started)
    }

    @Test func theFinalFailureSaysHowManyAttemptsWereMade() async throws {
        let commands = V2Commands()
        let flow = #"[{"$id":"b","$command":"flaky","inputs":{"failures":9},"$retry":{"max_attempts":2,"backoff":"0s"}}]"#
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.error == #"step "b": command "flaky" failed: call 2 of flaky failed (after 2 attempts)"#)
        #expect(commands.count("flaky") == 2)
        // One attempt: the message is the original's.
        let once = try await runV2(#"[{"$id":"b","$command":"flaky","inputs":{"failures":9},"$retry":{"max_attempts":1}}]"#)
        #expect(once.error == #"step "b": command "flaky" failed: call 1 of flaky failed"#)
    }

    @Test func untilRetriesASuccessfulAttemptWhoseOutputsDoNotSatisfyIt() async throws {
        let commands = V2Commands()
        let flow = """
            [{"$id":"h","$command":"status","inputs":{"statuses":[500,503,200]},
              "$retry":{"max_attempts":3,"backoff":"1ms","until":".status < 500"}}]
            """
        let outcome = try await runV2(flow, commands: commands)
        #expect(outcome.result == #"{"call":3,"status":200}"#)
        #expect(outcome.reports.filter { $0.status == .processing }.count == 3)
        #expect(outcome.reports[1].error.contains(#"attempt 1: the outputs {"call":1,"status":500} do not satisfy $retry.until"#))
        let never = try await runV2(
            #"[{"$id":"h","$command":"status","inputs":{"statuses":[500]},"$retry":{"max_attempts":2,"backoff":"1ms","until":".status < 500"}}]"#
        )
        #expect(never.error == #"step "h": the outputs {"call":2,"status":500} do not satisfy $retry.until (after 2 attempts)"#)
    }

    @Test func aNestedRetryReportsAgainstItsTopLevelStep() async throws {
        let flow = """
            [{"$id":"it","$range":["x","y"],"$steps":[
               {"$id":"c","$command":"flaky","inputs":{"key":"$it.val","failures":1,"value":"$it.val"},"$retry":{"backoff":"1ms"}}]}]
            """
        let outcome = try await runV2(flow)
        #expect(outcome.result == #"["x","y"]"#)
        #expect(outcome.reports.map(\.sequence) == [0, 0, 0, 0])
        #expect(outcome.reports[1].error.hasPrefix(#"step "it[0].c": attempt 2 of 3; attempt 1: "#))
        #expect(outcome.reports[2].error.hasPrefix(#"step "it[1].c": attempt 2 of 3; attempt 1: "#))
    }

    @Test func delaysGrowByTheFactorUpToTheMaximumAndJitterShortensThem() {
        let policy = RetryPolicy(
            maxAttempts: 5, backoff: .seconds(2), factor: 2, maxBackoff: .seconds(5), jitter: 0.5, until: nil)
        #expect(policy.delay(after: 1, random: 0) == .seconds(2))
        #expect(policy.delay(after: 2, random: 0) == .seconds(4))
        #expect(policy.delay(after: 3, random: 0) == .seconds(5))
        #expect(policy.delay(after: 1, random: 1) == .seconds(1))
        #expect(policy.delay(after: 3, random: 0.5) == .milliseconds(3750))
    }

    @Test func cancellationDuringTheBackoffCancelsTheRun() async throws {
        let commands = V2Commands()
        let flow = #"[{"$id":"b","$command":"flaky","inputs":{"failures":9},"$retry":{"max_attempts":5,"backoff":"1h"}}]"#
        let task = Task { try await runV2(flow, commands: commands) }
        try await waitFor { commands.count("flaky") >= 1 }
        task.cancel()
        let outcome = try await task.value
        #expect(outcome.status == .canceled)
        #expect(outcome.error == #"step "b": canceled"#)
        #expect(commands.count("flaky") == 1)
    }
}
