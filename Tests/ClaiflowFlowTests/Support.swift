import ClaiflowCore
import Foundation
import Synchronization
import Testing

@testable import ClaiflowFlow

func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

/// The member `key` of an object (an explicit `null` member is `.null`, a missing one nil).
func member(_ value: JSONValue?, _ key: String) -> JSONValue? {
    guard case .object(let members)? = value else { return nil }
    return members[key]
}

/// The message of the ClaiflowError `body` throws (nil when it does not throw).
func parseError(_ text: String) -> String? {
    do {
        _ = try Flow.parse(text)
        return nil
    } catch {
        #expect(error.kind == .invalidArgument)
        return error.message
    }
}

/// A clock that ticks one microsecond per reading, so reports have distinct, ordered times.
final class TickingClock: Sendable {
    private let now = Mutex<Int64>(1_700_000_000_000_000)

    func read() -> Timestamp {
        now.withLock { value in
            value += 1
            return Timestamp(microseconds: value)
        }
    }
}

/// Records the calls commands receive, in order.
final class CallLog: Sendable {
    private let calls = Mutex<[FlowCommandCall]>([])

    func append(_ call: FlowCommandCall) { calls.withLock { $0.append(call) } }
    var all: [FlowCommandCall] { calls.withLock { $0 } }
    var stepIDs: [String] { all.map(\.stepID) }
}

/// Commands that behave like the original's example commands, plus a few for tests.
func fakeCommands(log: CallLog? = nil) -> [String: FlowCommand] {
    func logged(_ body: @escaping @Sendable (FlowCommandCall) async throws -> JSONValue) -> FlowCommand {
        { call in
            log?.append(call)
            return try await body(call)
        }
    }
    return [
        // The original's examples (README / examples/multistep_features).
        "helloworld": logged { call in
            guard case .string(let name)? = call.inputs?.field("name") else { throw FlowCommandError("name is required") }
            return .string("hello \(name)")
        },
        "math_pow": logged { call in
            guard let x = number(call.inputs?.field("x")), let y = number(call.inputs?.field("y")) else {
                throw FlowCommandError("x and y must be numbers")
            }
            return .number(Foundation.pow(x, y))
        },
        "swap_command": logged { call in
            .object(["value1": call.inputs?.field("param2") ?? .null, "value2": call.inputs?.field("param1") ?? .null])
        },
        // Test helpers.
        "echo": logged { call in call.inputs ?? .null },
        "emit": logged { call in
            guard case .object(let members)? = call.inputs else { return .null }
            return members["value"] ?? .null
        },
        "fail": logged { call in
            guard case .string(let message)? = call.inputs?.field("message") else { throw FlowCommandError("failed") }
            throw FlowCommandError(message)
        },
    ]
}

private func number(_ value: JSONValue?) -> Double? {
    switch value {
    case .integer(let i)?: Double(i)
    case .number(let d)?: d
    default: nil
    }
}

/// Parses and runs a flow with the fake commands.
func run(
    _ flowText: String, inputs: String = "{}", log: CallLog? = nil,
    extra: [String: FlowCommand] = [:], isCancelled: @escaping @Sendable () async -> Bool = { false }
) async throws -> FlowOutcome {
    let flow = try Flow.parse(flowText)
    var commands = fakeCommands(log: log)
    for (name, command) in extra { commands[name] = command }
    let clock = TickingClock()
    let engine = FlowEngine(commands: commands, clock: { clock.read() })
    return await engine.run(flow, inputs: try json(inputs), isCancelled: isCancelled)
}

/// Runs a flow and returns its final result parsed as JSON (failing the test when it fails).
func result(_ flowText: String, inputs: String = "{}") async throws -> JSONValue? {
    let outcome = try await run(flowText, inputs: inputs)
    guard outcome.status == .succeeded, let text = outcome.result else {
        Issue.record("flow did not succeed: \(outcome.status) \(outcome.error ?? "")")
        return nil
    }
    return try json(text)
}

/// Runs a flow that must fail and returns its error text.
func failure(_ flowText: String, inputs: String = "{}") async throws -> String? {
    let outcome = try await run(flowText, inputs: inputs)
    #expect(outcome.status == .failed, "expected a failure, got \(outcome.status) \(outcome.result ?? "")")
    return outcome.error
}
