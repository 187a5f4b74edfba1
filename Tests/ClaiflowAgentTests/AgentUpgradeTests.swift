import AsyncHTTPClient
import ClaiflowAgent
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowTestSupport
import Foundation
import Testing

private let oldImage = "registry.example.com:5000/claiflow/agent:0.1.0"
private let newImage = "registry.example.com:5000/claiflow/agent:0.2.0"

/// Runs `body` with a fake Kubernetes API server running the agent's Deployment
/// (``FakeKubernetesAPIServer/seedAgent``) and an upgrader pointed at it.
private func withAgentDeployment(
    _ body: @Sendable (FakeKubernetesAPIServer, KubernetesAgentUpgrader) async throws -> Void
) async throws {
    let fake = FakeKubernetesAPIServer(token: "k8s-token")
    try await fake.seedAgent(image: oldImage)
    try await fake.run { port in
        let access = KubernetesAccess(
            baseURL: "http://127.0.0.1:\(port)", authentication: .bearerToken("k8s-token"), namespace: "claiflow")
        let upgrader = try KubernetesAgentUpgrader(
            access: access, httpClient: .shared, podName: "claiflow-agent-7d4b9-x2x8q", namespaceFile: "/nonexistent/namespace",
            pollInterval: .milliseconds(10), environment: [:])
        try await body(fake, upgrader)
    }
}

/// The image of the agent's Deployment.
private func deployedImage(_ fake: FakeKubernetesAPIServer) async -> String? {
    guard let deployments = FakeKubernetesAPIServer.resource(group: "apps", version: "v1", name: "deployments") else {
        return nil
    }
    return await fake.object(deployments, namespace: "claiflow", name: "claiflow-agent")?[
        path: ["spec", "template", "spec", "containers", "0", "image"]]?.stringValue
}

private let upgradeFlow = #"[{"$id":"step1","$command":"claiflow.client.upgrade","inputs":"$inputs"}]"#

/// `claiflow.client.upgrade` through the runtime, against a real server and a fake Kubernetes API.
@Suite("Agent upgrade", .serialized)
struct AgentUpgradeTests {
    @Test(
        "the upgrade waits for the other services of its poll, rolls the Deployment to the new image, succeeds, then the agent stops"
    )
    func success() async throws {
        try await Harness.with { h in
            try await withAgentDeployment { fake, upgrader in
                try await h.createService(
                    "neighbour",
                    flow:
                        #"[{"$id":"w","$command":"test.gate","inputs":{"name":"neighbour-gate"}},{"$id":"e","$command":"test.echo"}]"#
                )
                try await h.createService("upgrade", flow: upgradeFlow, inputs: #"{"image_tag":"0.2.0"}"#)
                let agent = h.startAgent(h.configuration(workers: 3), upgrader: upgrader)
                #expect(try await h.waitForStatus("upgrade", [2]))
                #expect(try await waitUntil { h.gates.reached("neighbour-gate") })
                // While the neighbour runs, the Deployment is untouched and nothing new is claimed.
                try await h.createService("late", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
                #expect(await deployedImage(fake) == oldImage)
                h.gates.open("neighbour-gate")

                #expect(try await agent.exited(within: .seconds(20)))
                #expect(try await h.state("neighbour").status == 4)
                let upgrade = try await h.state("upgrade")
                #expect(upgrade.status == 4, "\(upgrade.messages)")
                #expect(try await h.result("upgrade") == #""client upgrade will be complete""#)
                #expect(await deployedImage(fake) == newImage)
                #expect(try await h.state("late").statuses == [0])
            }
        }
    }

    @Test("a failed rollout is undone; the step fails with the reason and the agent carries on polling")
    func rollback() async throws {
        try await Harness.with { h in
            try await withAgentDeployment { fake, upgrader in
                await fake.setRollout(.exceedsProgressDeadline, forImage: newImage)
                try await h.createService("upgrade", flow: upgradeFlow, inputs: #"{"image_tag":"0.2.0","timeout":"60"}"#)
                let agent = h.startAgent(h.configuration(workers: 2), upgrader: upgrader)
                #expect(try await h.waitForStatus("upgrade", [4, 8, 16]))
                let upgrade = try await h.state("upgrade")
                #expect(upgrade.status == 8)
                let message = upgrade.messages.last ?? ""
                #expect(message.contains("the rollout exceeded its progress deadline (ProgressDeadlineExceeded"), "\(message)")
                #expect(message.hasSuffix("; the previous pod template was restored"), "\(message)")
                #expect(await deployedImage(fake) == oldImage)

                try await h.createService("after", flow: #"[{"$id":"a","$command":"test.echo","inputs":{"ok":true}}]"#)
                #expect(try await h.waitForStatus("after", [4, 8, 16]))
                #expect(try await h.state("after").status == 4)
                #expect(!agent.hasExited)
                try await agent.shutdown()
            }
        }
    }

    @Test("invalid inputs fail the step at once, before anything is changed; the agent carries on")
    func refused() async throws {
        try await Harness.with { h in
            try await withAgentDeployment { fake, upgrader in
                let agent = h.startAgent(h.configuration(workers: 1), upgrader: upgrader)
                try await h.createService("bad-tag", flow: upgradeFlow, inputs: #"{"image_tag":"0.2.0:latest"}"#)
                #expect(try await h.waitForStatus("bad-tag", [4, 8, 16]))
                #expect(
                    try await h.state("bad-tag").messages.last?.hasSuffix(
                        #""image_tag" must be an image tag (letters, digits, "_", "." and "-", at most 128) or a sha256: digest, got "0.2.0:latest""#
                    )
                        == true)
                try await h.createService("no-tag", flow: upgradeFlow, inputs: #"{"timeout":30}"#)
                #expect(try await h.waitForStatus("no-tag", [4, 8, 16]))
                #expect(try await h.state("no-tag").messages.last?.hasSuffix(#""image_tag" is required"#) == true)
                try await h.createService("after", flow: #"[{"$id":"a","$command":"test.echo"}]"#)
                #expect(try await h.waitForStatus("after", [4, 8, 16]))
                #expect(try await h.state("after").status == 4)
                try await agent.shutdown()
                #expect(await deployedImage(fake) == oldImage)
                #expect(await fake.requests.isEmpty)
            }
        }
    }

    @Test("without Kubernetes access the upgrade fails clearly; another service of the same poll still runs")
    func noAccess() async throws {
        try await Harness.with { h in
            try await h.createService("upgrade", flow: upgradeFlow, inputs: #"{"image_tag":"0.2.0"}"#)
            try await h.createService("neighbour", flow: #"[{"$id":"a","$command":"test.echo","inputs":{"n":1}}]"#)
            let agent = h.startAgent(h.configuration(workers: 2))
            #expect(try await h.waitForStatus("upgrade", [4, 8, 16]))
            #expect(try await h.waitForStatus("neighbour", [4, 8, 16]))
            #expect(
                try await h.state("upgrade").messages.last?.hasSuffix(
                    "no Kubernetes access configured: claiflow.client.upgrade cannot run") == true)
            #expect(try await h.state("neighbour").status == 4)
            try await agent.shutdown()
        }
    }

    @Test("a shutdown once the Deployment is patched (the rollout replacing this pod) reports the upgrade complete")
    func shutdownDuringRollout() async throws {
        try await Harness.with { h in
            try await withAgentDeployment { fake, upgrader in
                await fake.setRollout(.stalls, forImage: newImage)
                var configuration = h.configuration(workers: 2)
                configuration.shutdownGrace = .seconds(20)
                try await h.createService("upgrade", flow: upgradeFlow, inputs: #"{"image_tag":"0.2.0"}"#)
                let agent = h.startAgent(configuration, upgrader: upgrader)
                #expect(try await waitUntil { await deployedImage(fake) == newImage })
                let start = ContinuousClock.now
                try await agent.shutdown()
                // The step ended at the shutdown, not at the end of the grace period.
                #expect(ContinuousClock.now - start < .seconds(15))
                let upgrade = try await h.state("upgrade")
                #expect(upgrade.status == 4, "\(upgrade.messages)")
                #expect(try await h.result("upgrade") == #""client upgrade will be complete""#)
                #expect(await deployedImage(fake) == newImage)
            }
        }
    }
}
