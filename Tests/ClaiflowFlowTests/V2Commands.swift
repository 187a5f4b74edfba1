import ClaiflowCore
import Synchronization
import Testing

@testable import ClaiflowFlow

/// Commands for the flow language v2 tests: failures on demand, sleeps that notice
/// cancellation, and a meeting point that proves steps run at the same time.
final class V2Commands: Sendable {
    private let counters = Mutex<[String: Int]>([:])
    private let active = Mutex<(now: Int, most: Int)>((0, 0))
    private let cancellations = Mutex<Int>(0)

    /// How many times `key` was counted.
    func count(_ key: String) -> Int { counters.withLock { $0[key] ?? 0 } }
    /// The most commands that were inside `meet` or `sleep` at once.
    var mostActive: Int { active.withLock { $0.most } }
    /// How many sleeps ended because their task was cancelled.
    var cancelled: Int { cancellations.withLock { $0 } }

    private func next(_ key: String) -> Int {
        counters.withLock { counters in
            counters[key, default: 0] += 1
            return counters[key] ?? 0
        }
    }

    private func enter() {
        active.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
    }
    private func leave() { active.withLock { $0.now -= 1 } }

    var commands: [String: FlowCommand] {
        [
            // {"key", "failures": n, "value"}: fails the first n calls of key, then returns value.
            "flaky": { call in
                let key = stringField(call.inputs, "key") ?? "flaky"
                let failures = call.inputs?.field("failures")?.exactInt ?? 0
                let n = self.next(key)
                if n <= failures { throw FlowCommandError("call \(n) of \(key) failed") }
                return call.inputs?.field("value") ?? .integer(Int64(n))
            },
            // {"key", "statuses": [..]}: returns {"status": statuses[call - 1]} (the last one after the end).
            "status": { call in
                let key = stringField(call.inputs, "key") ?? "status"
                guard case .array(let statuses)? = call.inputs?.field("statuses"), let last = statuses.last else {
                    throw FlowCommandError("statuses required")
                }
                let n = self.next(key)
                return .object(["status": n <= statuses.count ? statuses[n - 1] : last, "call": .integer(Int64(n))])
            },
            // {"ms"}: sleeps, noting a cancellation.
            "sleep": { call in
                let ms = call.inputs?.field("ms")?.exactInt ?? 0
                self.enter()
                defer { self.leave() }
                do {
                    try await Task.sleep(for: .milliseconds(ms))
                } catch {
                    self.cancellations.withLock { $0 += 1 }
                    throw error
                }
                return call.inputs ?? .null
            },
            // {"key", "parties", "value"}: waits (at most 10 s) until `parties` calls of key are inside at once.
            "meet": { call in
                let key = stringField(call.inputs, "key") ?? "meet"
                let parties = call.inputs?.field("parties")?.exactInt ?? 2
                self.enter()
                defer { self.leave() }
                _ = self.next(key)
                let deadline = ContinuousClock.now + .seconds(10)
                while self.count(key) < parties {
                    guard ContinuousClock.now < deadline else { throw FlowCommandError("\(key): the others never came") }
                    try await Task.sleep(for: .milliseconds(2))
                }
                return call.inputs?.field("value") ?? .null
            },
        ]
    }
}

private func stringField(_ value: JSONValue?, _ key: String) -> String? {
    if case .string(let text)? = value?.field(key) { return text }
    return nil
}

/// Runs a flow with the fake commands and the v2 test commands.
func runV2(
    _ flowText: String, inputs: String = "{}", commands: V2Commands = V2Commands(), log: CallLog? = nil,
    isCancelled: @escaping @Sendable () async -> Bool = { false }
) async throws -> FlowOutcome {
    try await run(flowText, inputs: inputs, log: log, extra: commands.commands, isCancelled: isCancelled)
}

/// Waits (at most 10 s) until `condition` holds, polling.
func waitFor(_ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("the condition did not hold within 10 s")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
