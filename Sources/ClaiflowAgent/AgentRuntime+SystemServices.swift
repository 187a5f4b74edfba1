import ClaiflowCore
import ClaiflowFlow
import Logging
import Synchronization

/// The system services: `claiflow.client_pod.rebounce` and `claiflow.client.upgrade`, which the
/// runtime implements itself (see ``AgentRuntime``'s "System services").
extension AgentRuntime {
    /// The given commands plus the system commands, which take precedence.
    func allCommands() -> [String: FlowCommand] {
        var all = commands
        all[Self.rebounceCommand] = { [weak self] _ in
            guard let self else { throw CancellationError() }
            return try await self.rebounce()
        }
        all[Self.upgradeCommand] = { [weak self] call in
            guard let self else { throw CancellationError() }
            return try await self.upgrade(call.inputs)
        }
        return all
    }

    /// `claiflow.client_pod.rebounce`: stop polling, wait for the other services, then let the
    /// runtime stop when this service has reported.
    private func rebounce() async throws -> JSONValue {
        guard let uuid = Self.currentService else { throw FlowCommandError("\(Self.rebounceCommand) runs only as a service") }
        await holdPolling(for: uuid, Self.rebounceCommand)
        try Task.checkCancellation()
        state.withLock { $0.stopAfter[uuid] = Self.rebounceCommand }
        return .string(Self.rebounceResult)
    }

    /// `claiflow.client.upgrade`: check the inputs, stop polling, wait for the other services,
    /// then have the upgrader roll the agent to the new image; when it succeeds the runtime stops
    /// once this service has reported.
    ///
    /// A graceful shutdown that begins after the upgrader made its change ends the step with
    /// success at once: the rollout is replacing this pod (the new pods are up, or the Deployment
    /// recreates them), and the agent must not report the upgrade failed, nor make the rollout
    /// wait for its shutdown grace.
    private func upgrade(_ inputs: JSONValue?) async throws -> JSONValue {
        guard let uuid = Self.currentService else { throw FlowCommandError("\(Self.upgradeCommand) runs only as a service") }
        guard let upgrader else {
            throw FlowCommandError("no Kubernetes access configured: \(Self.upgradeCommand) cannot run")
        }
        try upgrader.validate(inputs)
        await holdPolling(for: uuid, Self.upgradeCommand)
        try Task.checkCancellation()
        if state.withLock({ if case .stopping = $0.phase { return true } else { return false } }) {
            throw FlowCommandError("the agent is shutting down: the upgrade was not started")
        }
        let replaced = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await upgrader.upgrade(inputs) { [weak self] inEffect in self?.noteUpgradeChange(uuid, inEffect: inEffect) }
                return false
            }
            group.addTask { [weak self] in
                // Ends when a shutdown begins after the change was made; canceled otherwise.
                let shuttingDown = await self?.signal.waitUntil(deadline: nil) {
                    self?.state.withLock { s in
                        guard s.committedUpgrade == uuid, case .stopping = s.phase else { return false }
                        return true
                    } ?? true
                }
                guard shuttingDown == true else { throw CancellationError() }
                return true
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        if replaced {
            logger.notice(
                "shutting down while the upgrade's rollout replaces this pod: reporting the upgrade complete",
                metadata: ["service_uuid": .string(uuid)])
        }
        state.withLock { $0.stopAfter[uuid] = Self.upgradeCommand }
        return .string(Self.upgradeResult)
    }

    private func noteUpgradeChange(_ uuid: String, inEffect: Bool) {
        state.withLock { $0.committedUpgrade = inEffect ? uuid : nil }
        if inEffect {
            logger.notice(
                "upgrade: the agent's Deployment was changed; waiting for its rollout", metadata: ["service_uuid": .string(uuid)])
        }
        signal.notify()
    }

    /// Stops polling for the system service `uuid` and waits (at most
    /// ``AgentConfiguration/rebounceWait``, or until a shutdown) for the other services to finish.
    private func holdPolling(for uuid: String, _ command: String) async {
        let task = state.withLock { s -> Task<Result<[PolledService], AgentCallError>, Never>? in
            switch s.phase {
            case .running, .systemService:
                s.phase = .systemService(uuid)
                return s.pollTask
            default:
                return nil
            }
        }
        task?.cancel()
        signal.notify()
        let others = state.withLock { $0.running.count - 1 }
        logger.notice(
            "\(command) requested: no more polling; waiting for the other services",
            metadata: [
                "service_uuid": .string(uuid), "others": .stringConvertible(others),
                "wait": .string(Self.format(configuration.rebounceWait)),
            ])
        let alone = await signal.waitUntil(deadline: .now + configuration.rebounceWait) {
            state.withLock { s in
                if case .stopping = s.phase { return true }
                return s.running.keys.allSatisfy { $0 == uuid }
            }
        }
        if !alone {
            logger.warning("\(command): other services are still running; going ahead", metadata: ["service_uuid": .string(uuid)])
        }
    }
}
