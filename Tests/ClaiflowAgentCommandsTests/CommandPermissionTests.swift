import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowFlow
import Foundation
import Testing

@testable import ClaiflowAgentCommands

/// Whether `permission` allows `access`: its cluster rules anywhere, its agent-namespace rules in
/// `agentNamespace` only.
private func allows(_ permission: CommandPermission, _ access: FakeKubernetesAPIServer.Access, agentNamespace: String) -> Bool {
    func matches(_ rules: [KubernetesRule]) -> Bool {
        rules.contains { $0.allows(group: access.group, resource: access.resource, verb: access.verb, name: access.name) }
    }
    return matches(permission.clusterRules) || (access.namespace == agentNamespace && matches(permission.agentNamespaceRules))
}

@Suite("command permissions", .serialized)
struct CommandPermissionTests {
    @Test("every built-in and system command declares its Kubernetes permissions, and only those")
    func declared() throws {
        let catalog = try makeCatalog()
        #expect(Set(CommandCatalog.permissions.keys) == Set(catalog.names).union(CommandCatalog.systemCommands))
        #expect(CommandCatalog.permissions["kubernetes.nodes.list.v1"]?.level == .read)
        #expect(CommandCatalog.permissions["kubernetes.deployments.patch.apps/v1"]?.level == .write)
        #expect(CommandCatalog.permissions["helm.install"]?.level == .admin)
        #expect(CommandCatalog.permissions["prometheus.query.v1"] == .noAccess)
    }

    @Test("every kubernetes.* command of the default templates is allowed by an API server enforcing only its declaration")
    func kubernetesCommands() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            for resource in FakeKubernetesAPIServer.resources {
                try await fake.seed(resource, namespace: "default", .object(["metadata": .object(["name": .string("sample")])]))
            }
            try await fake.seed(try fakeResource("pods"), namespace: "default", pod("runner"))
            let commands = try DefaultTemplate.load().map(\.command).filter { $0.hasPrefix("kubernetes.") }
                .sorted { ($0.contains(".delete.") ? 1 : 0, $0) < ($1.contains(".delete.") ? 1 : 0, $1) }
            #expect(commands.count == 213)
            for command in commands {
                let permission = try #require(CommandCatalog.permissions[command])
                await fake.authorize { allows(permission, $0, agentNamespace: "claiflow") }
                let isExec = command == "kubernetes.pods.exec.v1"
                var inputs: [String: JSONValue] = [
                    "namespace": .string("default"), "name": .string(isExec ? "runner" : "sample"),
                    "patch_type": .string("merge"), "patch_data": .object(["metadata": .object(["labels": .object([:])])]),
                ]
                if isExec { inputs["command"] = .string("echo allowed") }
                do {
                    _ = try await call(catalog, command, .object(inputs))
                } catch {
                    Issue.record("\(command): \(stepErrorText(error))")
                }
                #expect(await fake.refusedAccesses == [], "\(command)")
            }

            // The check can refuse: a patch under the declaration of the matching get.
            let get = try #require(CommandCatalog.permissions["kubernetes.configmaps.get.v1"])
            await fake.authorize { allows(get, $0, agentNamespace: "claiflow") }
            await #expect(throws: (any Error).self) {
                try await call(
                    catalog, "kubernetes.configmaps.patch.v1",
                    .object([
                        "namespace": .string("default"), "name": .string("sample"), "patch_type": .string("merge"),
                        "patch_data": .object([:]),
                    ]))
            }
            #expect(await fake.refusedAccesses.map(\.verb) == ["patch"])
        }
    }

    @Test("the credential commands on the k8s/secret storage stay within the agent namespace's credential Secret")
    func credentialCommands() async throws {
        try await withFakeKubernetes(credentialStore: .kubernetesSecret(namespace: "claiflow")) { fake, catalog, _ in
            let steps: [(String, JSONValue)] = [
                ("add", .object(["credentials": .object(["k": .object(["type": .string("grafana"), "data": .string("t")])])])),
                (
                    "update",
                    .object(["credentials": .object(["k": .object(["type": .string("grafana"), "data": .string("u")])])])
                ),
                ("get", .object([:])),
                ("remove", .object(["credential_keys": .array([.object(["key": .string("k")])])])),
            ]
            for (verb, inputs) in steps {
                let permission = try #require(CommandCatalog.permissions["claiflow.credential.\(verb)"])
                await fake.authorize { allows(permission, $0, agentNamespace: "claiflow") }
                do {
                    _ = try await call(catalog, "claiflow.credential.\(verb)", inputs)
                } catch {
                    Issue.record("claiflow.credential.\(verb): \(stepErrorText(error))")
                }
                #expect(await fake.refusedAccesses == [], "claiflow.credential.\(verb)")
            }
            // In another namespace the same declaration allows nothing.
            let get = try #require(CommandCatalog.permissions["claiflow.credential.get"])
            await fake.authorize { allows(get, $0, agentNamespace: "elsewhere") }
            await #expect(throws: (any Error).self) { try await call(catalog, "claiflow.credential.get", .object([:])) }
        }
    }

    @Test("claiflow.client.upgrade succeeds under only its declared agent-namespace rules")
    func upgrade() async throws {
        let fake = FakeKubernetesAPIServer(token: "test-token")
        try await fake.seedAgent(image: "registry.example.com/claiflow:0.1.0")
        let namespaceFile = try temporaryDirectory().appendingPathComponent("namespace")
        try "claiflow\n".write(to: namespaceFile, atomically: true, encoding: .utf8)
        let permission = try #require(CommandCatalog.permissions[CommandCatalog.upgradeCommand])
        await fake.authorize { allows(permission, $0, agentNamespace: "claiflow") }
        try await fake.run { port in
            let upgrader = try KubernetesAgentUpgrader(
                access: KubernetesAccess(baseURL: "http://127.0.0.1:\(port)", authentication: .bearerToken("test-token")),
                httpClient: testHTTPClient, podName: "claiflow-agent-7d4b9-x2x8q", namespaceFile: namespaceFile.path,
                pollInterval: .milliseconds(10), environment: [:])
            try await upgrader.upgrade(
                .object([
                    "image_tag": .string("0.2.0"), "timeout": .string("30"),
                    "env_configs": .object(["MODE": .string("fast"), "TOKEN": .string("new")]),
                ])
            ) { _ in }
        }
        #expect(await fake.refusedAccesses == [])
    }
}
