import ClaiflowAgentCommands
import ClaiflowCore

/// What `claiflow.client.upgrade` does once the other services are done: replace the running
/// agent with a new version. ``AgentRuntime`` calls it; `KubernetesAgentUpgrader` rolls the
/// agent's own Deployment.
public protocol AgentUpgrader: Sendable {
    /// Checks the step's inputs. Throwing fails the step at once, before the runtime stops
    /// polling.
    func validate(_ inputs: JSONValue?) throws

    /// Replaces the agent: calls `changed(true)` once the change is made (from then on the agent
    /// is being replaced), returns when the new version is up, and when it fails calls
    /// `changed(false)`, undoes its changes and throws. A cancellation ends the wait without
    /// undoing a change already made.
    func upgrade(_ inputs: JSONValue?, changed: @escaping @Sendable (Bool) -> Void) async throws
}

extension KubernetesAgentUpgrader: AgentUpgrader {}
