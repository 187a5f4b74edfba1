import ClaiflowCore
import ClaiflowFlow
import Foundation

/// Flow evaluation throughput: a 3-step flow with references into the inputs and into earlier
/// steps' outputs, run by the flow engine against in-memory commands (no I/O), so the figure is
/// the cost of the language itself: parsing excluded, reference resolution with jq included.
/// ``v2FlowText`` does the same with every construct of the flow language v2.
enum FlowBench {
    static let flowText = """
        [
          {"$id": "pods", "$command": "echo", "inputs": {"namespace": "$inputs.namespace", "labels": "$inputs.labels"}},
          {"$id": "first", "$command": "echo", "inputs": {"name": "$pods.outputs.namespace", "app": "$pods.outputs.labels[\\"app.kubernetes.io/name\\"]"}},
          {"$id": "report", "$command": "echo", "inputs": {"who": "$first.outputs.app", "ns": "$inputs.namespace", "all": "$pods.outputs"}}
        ]
        """
    /// Six top-level steps using every v2 construct: `$retry` with `until`, `$timeout` and
    /// `$result` on a command, a condition, two parallel branches, a concurrent iteration, a
    /// failing command whose `$on_failure` handler reads `$error` and continues; 10 commands run.
    static let v2FlowText = """
        [
          {"$id": "pods", "$command": "echo", "inputs": {"namespace": "$inputs.namespace", "labels": "$inputs.labels", "extra": [1, 2, 3]},
           "$retry": {"max_attempts": 3, "backoff": "0s", "until": ".namespace != null"}, "$timeout": "10s", "$result": "{namespace, labels}"},
          {"$id": "c", "$if": ".steps.pods.outputs.namespace == \\"default\\"",
           "$then": [{"$id": "t", "$command": "echo", "inputs": {"ns": "$pods.outputs.namespace"}}],
           "$else": [{"$id": "e", "$command": "echo", "inputs": {"ns": "other"}}]},
          {"$id": "p", "$max_concurrency": 2, "$parallel": [
            [{"$id": "p1", "$command": "echo", "inputs": {"app": "$pods.outputs.labels[\\"app.kubernetes.io/name\\"]", "c": "$c.outputs"}}],
            [{"$id": "p2", "$command": "echo", "inputs": {"tier": "$inputs.labels.tier"}}]]},
          {"$id": "it", "$range": "$p.outputs", "$max_concurrency": 2, "$steps": [{"$id": "each", "$command": "echo", "inputs": {"v": "$it.val"}}]},
          {"$id": "f", "$command": "fail", "$continue": true,
           "$on_failure": [{"$id": "h", "$command": "echo", "inputs": {"error": "$error.message", "attempts": "$error.attempts"}}]},
          {"$id": "report", "$command": "echo", "inputs": {"who": "$p1.outputs.app", "all": "$it.outputs", "f": "$f.outputs"}}
        ]
        """
    static let inputs: JSONValue = .object([
        "namespace": .string("default"), "labels": .object(["app.kubernetes.io/name": .string("web"), "tier": .string("front")]),
    ])

    /// Runs a flow (by default the 3-step one) `runs` times with `concurrency` tasks; returns runs per second.
    static func measure(runs: Int, concurrency: Int, flowText: String = flowText) async throws -> Double {
        let flow = try Flow.parse(flowText)
        let engine = FlowEngine(commands: [
            "echo": { call in call.inputs ?? .null },
            "fail": { _ in throw FlowCommandError("failed on purpose") },
        ])
        // Check once that it really does what it should.
        let check = await engine.run(flow, inputs: inputs, onStep: { _ in }, isCancelled: { false })
        guard check.status == .succeeded else { throw FlowCommandError("flow benchmark failed: \(check.error ?? "")") }
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<concurrency {
                group.addTask {
                    var i = w
                    while i < runs {
                        _ = await engine.run(flow, inputs: inputs, onStep: { _ in }, isCancelled: { false })
                        i += concurrency
                    }
                }
            }
        }
        let d = ContinuousClock.now - start
        return Double(runs) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}
