import ClaiflowCore
import ClaiflowFlow
import Foundation

/// Flow evaluation throughput: a 3-step flow with references into the inputs and into earlier
/// steps' outputs, run by the flow engine against in-memory commands (no I/O), so the figure is
/// the cost of the language itself: parsing excluded, reference resolution with jq included.
enum FlowBench {
    static let flowText = """
        [
          {"$id": "pods", "$command": "echo", "inputs": {"namespace": "$inputs.namespace", "labels": "$inputs.labels"}},
          {"$id": "first", "$command": "echo", "inputs": {"name": "$pods.outputs.namespace", "app": "$pods.outputs.labels[\\"app.kubernetes.io/name\\"]"}},
          {"$id": "report", "$command": "echo", "inputs": {"who": "$first.outputs.app", "ns": "$inputs.namespace", "all": "$pods.outputs"}}
        ]
        """
    static let inputs: JSONValue = .object([
        "namespace": .string("default"), "labels": .object(["app.kubernetes.io/name": .string("web"), "tier": .string("front")]),
    ])

    /// Runs the flow `runs` times with `concurrency` tasks; returns runs per second.
    static func measure(runs: Int, concurrency: Int) async throws -> Double {
        let flow = try Flow.parse(flowText)
        let engine = FlowEngine(commands: ["echo": { call in call.inputs ?? .null }])
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
