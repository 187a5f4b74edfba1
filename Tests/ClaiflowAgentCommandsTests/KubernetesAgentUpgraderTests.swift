import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowFlow
import Foundation
import Synchronization
import Testing

@testable import ClaiflowAgentCommands

/// The image the agent fixtures run.
private let agentImage = "registry.example.com:5000/claiflow/agent:0.1.0"

/// Runs `body` with a fake API server seeded with an agent (``FakeKubernetesAPIServer/seedAgent``)
/// and an upgrader that finds it, polling every 10 ms.
private func withAgentCluster(
    token: String = "test-token", podName: String = "claiflow-agent-7d4b9-x2x8q",
    _ body: @Sendable (FakeKubernetesAPIServer, KubernetesAgentUpgrader) async throws -> Void
) async throws {
    let fake = FakeKubernetesAPIServer(token: "test-token")
    try await fake.seedAgent(image: agentImage)
    let directory = try temporaryDirectory()
    let namespaceFile = directory.appendingPathComponent("namespace")
    try "claiflow\n".write(to: namespaceFile, atomically: true, encoding: .utf8)
    try await fake.run { port in
        let upgrader = try KubernetesAgentUpgrader(
            access: KubernetesAccess(baseURL: "http://127.0.0.1:\(port)", authentication: .bearerToken(token)),
            httpClient: testHTTPClient, podName: podName, namespaceFile: namespaceFile.path, pollInterval: .milliseconds(10),
            environment: [:])
        try await body(fake, upgrader)
    }
}

/// The `changed` notifications of an upgrade.
private final class Changes: Sendable {
    private let values = Mutex<[Bool]>([])
    var all: [Bool] { values.withLock { $0 } }
    func note(_ inEffect: Bool) { values.withLock { $0.append(inEffect) } }
}

private func deployment(_ fake: FakeKubernetesAPIServer) async throws -> JSONValue {
    try #require(await fake.object(try fakeResource("deployments", "apps"), namespace: "claiflow", name: "claiflow-agent"))
}

private func data(_ fake: FakeKubernetesAPIServer, _ resource: String, _ name: String) async throws -> JSONValue? {
    await fake.object(try fakeResource(resource), namespace: "claiflow", name: name)?[path: ["data"]]
}

private func base64(_ text: String) -> JSONValue { .string(Data(text.utf8).base64EncodedString()) }

private func upgradeFailure(
    _ upgrader: KubernetesAgentUpgrader, _ inputs: JSONValue, _ changes: Changes = Changes()
) async -> String? {
    do {
        try await upgrader.upgrade(inputs) { changes.note($0) }
        return nil
    } catch {
        return stepErrorText(error)
    }
}

@Suite("claiflow.client.upgrade on Kubernetes")
struct KubernetesAgentUpgraderTests {
    @Test("inputs: image_tag required and a tag or digest; timeout in seconds, also as text; env_configs stringified")
    func inputs() throws {
        let request = try KubernetesAgentUpgrader.request(
            .object([
                "image_tag": .string("0.2.0"), "timeout": .string("90"),
                "env_configs": .object(["A": .string("x"), "B": .integer(2), "C": .bool(true)]),
            ]))
        #expect(request.imageTag == "0.2.0")
        #expect(request.timeout == .seconds(90))
        #expect(request.environment == ["A": "x", "B": "2", "C": "true"])
        #expect(
            try KubernetesAgentUpgrader.request(.object(["image_tag": .string("v1"), "timeout": .number(1.5)])).timeout
                == .milliseconds(1500))
        #expect(try KubernetesAgentUpgrader.request(.object(["image_tag": .string("v1")])).timeout == .seconds(600))
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        #expect(try KubernetesAgentUpgrader.request(.object(["image_tag": .string("@" + digest)])).imageTag == digest)

        func message(_ inputs: JSONValue?) -> String? {
            do {
                _ = try KubernetesAgentUpgrader.request(inputs)
                return nil
            } catch {
                return stepErrorText(error)
            }
        }
        #expect(message(nil) == "\"image_tag\" is required")
        #expect(message(.object(["image_tag": .string("")])) == "\"image_tag\" is required")
        #expect(message(.object(["image_tag": .integer(2)])) == "\"image_tag\" must be a string, got number")
        #expect(
            message(.object(["image_tag": .string("v1:latest")]))
                == "\"image_tag\" must be an image tag (letters, digits, \"_\", \".\" and \"-\", at most 128) or a sha256: digest, got \"v1:latest\""
        )
        #expect(
            message(.object(["image_tag": .string("v1"), "timeout": .string("soon")]))
                == "\"timeout\" must be a number of seconds, more than 0 and at most 86400, got \"soon\"")
        #expect(
            message(.object(["image_tag": .string("v1"), "timeout": .integer(-5)]))
                == "\"timeout\" must be a number of seconds, more than 0 and at most 86400, got -5")
        #expect(
            message(.object(["image_tag": .string("v1"), "env_configs": .string("A=1")]))
                == "\"env_configs\" must be an object, got string")
        #expect(
            message(.object(["image_tag": .string("v1"), "env_configs": .object(["A": .array([])])]))
                == "\"env_configs\": the value of \"A\" must be a string, got array")
        #expect(
            message(.object(["image_tag": .string("v1"), "env_configs": .object(["A=B": .string("1")])]))
                == "\"env_configs\": \"A=B\" is not a valid variable name")
    }

    @Test(
        "the new image replaces the tag and digest, keeping a registry port",
        arguments: [
            ("nginx", "v2", "nginx:v2"),
            ("nginx:1.27", "v2", "nginx:v2"),
            ("registry:5000/org/agent", "v2", "registry:5000/org/agent:v2"),
            ("registry:5000/org/agent:v1", "v2", "registry:5000/org/agent:v2"),
            ("org/agent@sha256:0123", "v2", "org/agent:v2"),
            ("org/agent:v1@sha256:0123", "v2", "org/agent:v2"),
            ("[fd00::1]:5000/agent:v1", "v2", "[fd00::1]:5000/agent:v2"),
            (
                "org/agent:v1", "sha256:" + String(repeating: "0", count: 64),
                "org/agent@sha256:" + String(repeating: "0", count: 64)
            ),
        ])
    func image(reference: String, tag: String, expected: String) {
        #expect(KubernetesAgentUpgrader.image(reference, withTag: tag) == expected)
    }

    @Test(
        "success: the Deployment gets the new image, the restartedAt annotation and the environment; ConfigMaps and Secrets are changed in place"
    )
    func success() async throws {
        try await withAgentCluster { fake, upgrader async throws in
            let changes = Changes()
            try await upgrader.upgrade(
                .object([
                    "image_tag": .string("0.2.0"), "timeout": .string("30"),
                    "env_configs": .object([
                        "LOG_LEVEL": .string("debug"), "TOKEN": .string("new-token"), "MODE": .string("fast"),
                        "REGION": .string("us"), "FRESH": .integer(1),
                    ]),
                ])
            ) { changes.note($0) }
            #expect(changes.all == [true])

            let patched = try await deployment(fake)
            let container = try #require(patched[path: ["spec", "template", "spec", "containers", "0"]])
            #expect(container[path: ["image"]] == .string("registry.example.com:5000/claiflow/agent:0.2.0"))
            let stamp = try #require(
                patched[path: ["spec", "template", "metadata", "annotations", "claiflow/restartedAt"]]?.stringValue)
            #expect((try? Date(stamp, strategy: .iso8601)) != nil, "\(stamp)")
            // The literal changes in the template; the others in their objects; FRESH goes to the
            // ConfigMap used through envFrom (there is no Secret used so).
            #expect(container[path: ["env", "0"]] == .object(["name": .string("LOG_LEVEL"), "value": .string("debug")]))
            #expect(container[path: ["env"]]?.arrayValue?.count == 4)
            #expect(try await data(fake, "secrets", "agent-secret") == .object(["token": base64("new-token")]))
            #expect(try await data(fake, "configmaps", "agent-settings") == .object(["mode": .string("fast")]))
            #expect(try await data(fake, "configmaps", "agent-env") == .object(["REGION": .string("us"), "FRESH": .string("1")]))
            // The new ReplicaSet runs the new image; the fake reported its pods available while
            // the old ones (this pod) were still terminating.
            let replicaSets = await fake.replicaSets(ofDeployment: "claiflow-agent", namespace: "claiflow")
            #expect(replicaSets.count == 2)
            let current = replicaSets.values.first {
                $0[path: ["spec", "template", "metadata", "annotations", "claiflow/restartedAt"]] == .string(stamp)
            }
            #expect(current?[path: ["status", "availableReplicas"]] == .integer(1))
            let paths = await fake.requests.map { "\($0.method) \($0.path)" }
            #expect(paths.first == "GET /api/v1/namespaces/claiflow/pods/claiflow-agent-7d4b9-x2x8q")
            #expect(
                paths.dropFirst().first?.hasPrefix("GET /apis/apps/v1/namespaces/claiflow/replicasets/claiflow-agent-") == true)
            #expect(paths.dropFirst(2).first == "GET /apis/apps/v1/namespaces/claiflow/deployments/claiflow-agent")
            #expect(await fake.requests.contains { $0.method == "PATCH" && $0.contentType == "application/json-patch+json" })
        }
    }

    @Test("ProgressDeadlineExceeded: the template and the ConfigMap/Secret values are restored and the upgrade fails")
    func rollback() async throws {
        try await withAgentCluster { fake, upgrader async throws in
            await fake.setRollout(.exceedsProgressDeadline, forImage: "registry.example.com:5000/claiflow/agent:0.3.0")
            let before = try await deployment(fake)
            let changes = Changes()
            let message = await upgradeFailure(
                upgrader,
                .object([
                    "image_tag": .string("0.3.0"),
                    "env_configs": .object(["LOG_LEVEL": .string("debug"), "MODE": .string("fast"), "FRESH": .string("1")]),
                ]), changes)
            #expect(changes.all == [true, false])
            let text = try #require(message)
            #expect(
                text.hasPrefix(
                    "upgrade of deployment claiflow/claiflow-agent to registry.example.com:5000/claiflow/agent:0.3.0 failed: the rollout exceeded its progress deadline (ProgressDeadlineExceeded: ReplicaSet \"claiflow-agent-"
                ), "\(text)")
            #expect(
                text.hasSuffix(
                    "has timed out progressing.); the previous pod template was restored; the ConfigMap and Secret changes were undone"
                ))
            let after = try await deployment(fake)
            #expect(after[path: ["spec", "template"]] == before[path: ["spec", "template"]])
            #expect(try await data(fake, "configmaps", "agent-settings") == .object(["mode": .string("normal")]))
            #expect(try await data(fake, "configmaps", "agent-env") == .object(["REGION": .string("eu")]))
        }
    }

    @Test("a rollout that does not finish within the timeout is undone")
    func timeout() async throws {
        try await withAgentCluster { fake, upgrader async throws in
            await fake.setRollout(.stalls, forImage: "registry.example.com:5000/claiflow/agent:0.3.0")
            let message = await upgradeFailure(upgrader, .object(["image_tag": .string("0.3.0"), "timeout": .number(0.2)]))
            #expect(
                message
                    == "upgrade of deployment claiflow/claiflow-agent to registry.example.com:5000/claiflow/agent:0.3.0 failed: the rollout did not complete within 0.2 s (1 of 1 updated replicas, 1 available, 2 in all; the new pods are not all available yet); the previous pod template was restored"
            )
            #expect(
                try await deployment(fake)[path: ["spec", "template", "spec", "containers", "0", "image"]] == .string(agentImage))
        }
    }

    @Test("a refused Deployment patch undoes the ConfigMap and Secret changes; nothing is rolled out")
    func patchRefused() async throws {
        try await withAgentCluster { fake, upgrader async throws in
            await fake.forbid("patch", "deployments")
            let changes = Changes()
            let message = await upgradeFailure(
                upgrader, .object(["image_tag": .string("0.2.0"), "env_configs": .object(["TOKEN": .string("new-token")])]),
                changes)
            #expect(changes.all.isEmpty)
            #expect(
                message
                    == #"cannot patch deployment claiflow/claiflow-agent: kubernetes API: deployments.apps "claiflow-agent" is forbidden: User "system:serviceaccount:claiflow:agent" cannot patch resource "deployments" in API group "apps" in the namespace "claiflow" (Forbidden, code 403); the ConfigMap and Secret changes were undone"#
            )
            #expect(try await data(fake, "secrets", "agent-secret") == .object(["token": base64("old-token")]))
        }
    }

    @Test("finding itself: an unknown pod, a pod not run by a Deployment, a variable from the pod's fields")
    func location() async throws {
        try await withAgentCluster(podName: "somewhere-else") { _, upgrader in
            #expect(
                await upgradeFailure(upgrader, .object(["image_tag": .string("0.2.0")]))
                    == #"cannot find the agent's own pod: kubernetes API: pods "somewhere-else" not found (NotFound, code 404); set POD_NAME to the pod's name (fieldRef metadata.name)"#
            )
        }
        try await withAgentCluster(podName: "lonely") { fake, upgrader async throws in
            try await fake.seed(try fakeResource("pods"), namespace: "claiflow", pod("lonely"))
            #expect(
                await upgradeFailure(upgrader, .object(["image_tag": .string("0.2.0")]))
                    == "the agent's pod claiflow/lonely is not run by a Deployment (no owner): it cannot upgrade itself")
        }
        try await withAgentCluster { fake, upgrader async throws in
            let failure = await upgradeFailure(
                upgrader, .object(["image_tag": .string("0.2.0"), "env_configs": .object(["POD_NAME": .string("x")])]))
            #expect(failure == "\"env_configs\": \"POD_NAME\" comes from the pod's own fields: it cannot be set")
            #expect(try await deployment(fake)[path: ["metadata", "generation"]] == .integer(1))
        }
    }

    @Test("the pod name: configured, else POD_NAME, else HOSTNAME")
    func podName() throws {
        let access = KubernetesAccess(baseURL: "http://127.0.0.1:1", authentication: .none)
        func name(_ podName: String?, _ environment: [String: String]) throws -> String {
            try KubernetesAgentUpgrader(access: access, httpClient: testHTTPClient, podName: podName, environment: environment)
                .resolvedPodName()
        }
        #expect(try name("given", ["POD_NAME": "a", "HOSTNAME": "b"]) == "given")
        #expect(try name(nil, ["POD_NAME": "a", "HOSTNAME": "b"]) == "a")
        #expect(try name(nil, ["HOSTNAME": "b"]) == "b")
        #expect(try !name(nil, [:]).isEmpty)  // the host name
    }
}
