import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowFlow
import Foundation
import Testing

/// Runs `body` with a fake API server and a catalog pointed at it with the right token.
func withFakeKubernetes<T: Sendable>(
    token: String = "test-token",
    credentialStore: CredentialStoreConfiguration = .disabled,
    helmPath: String? = nil,
    _ body: @Sendable (FakeKubernetesAPIServer, CommandCatalog, Int) async throws -> T
) async throws -> T {
    let fake = FakeKubernetesAPIServer(token: "test-token")
    return try await fake.run { port in
        let access = KubernetesAccess(baseURL: "http://127.0.0.1:\(port)", authentication: .bearerToken(token))
        let catalog = try makeCatalog(kubernetes: access, helmPath: helmPath, credentialStore: credentialStore)
        return try await body(fake, catalog, port)
    }
}

func fakeResource(_ name: String, _ group: String = "", _ version: String = "v1") throws -> FakeKubernetesAPIServer.Resource {
    guard let resource = FakeKubernetesAPIServer.resource(group: group, version: version, name: name) else {
        throw TestFailure("unknown fake resource \(name)")
    }
    return resource
}

func pod(_ name: String, labels: [String: String] = [:]) -> JSONValue {
    .object([
        "metadata": .object(["name": .string(name), "labels": .object(labels.mapValues { .string($0) })]),
        "spec": .object(["containers": .array([.object(["name": .string("main"), "image": .string("nginx:1.27")])])]),
    ])
}

@Suite("Kubernetes commands")
struct KubernetesCommandTests {
    @Test("every resource of the table has get/list/patch/delete, leases on coordination.k8s.io/v1")
    func table() throws {
        #expect(KubernetesResource.all.count == 53)
        #expect(Set(KubernetesResource.all.map(\.name)).count == 53)
        let catalog = try makeCatalog()
        for resource in KubernetesResource.all {
            for verb in ["get", "list", "patch", "delete"] {
                #expect(catalog.commands[resource.commandName(verb)] != nil)
            }
            let fake = FakeKubernetesAPIServer.resource(group: resource.group, version: resource.version, name: resource.name)
            #expect(fake?.namespaced == resource.isNamespaced, "\(resource.name)")
        }
        let leases = KubernetesResource.all.first { $0.name == "leases" }
        #expect(leases?.apiPrefix == "/apis/coordination.k8s.io/v1")
        #expect(catalog.commands["kubernetes.pods.exec.v1"] != nil)
    }

    @Test("get returns the object from the namespaced path")
    func get() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await fake.seed(try fakeResource("pods"), namespace: "web", pod("nginx"))
            let object = try await call(
                catalog, "kubernetes.pods.get.v1", .object(["namespace": .string("web"), "name": .string("nginx")]))
            #expect(object.field("kind") == .string("Pod"))
            #expect(object.field("metadata")?.field("namespace") == .string("web"))
            #expect(await fake.requests.last?.path == "/api/v1/namespaces/web/pods/nginx")
        }
    }

    @Test("a missing object fails with the API server's Status message")
    func notFound() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let message = await failure(
                catalog, "kubernetes.pods.get.v1", .object(["namespace": .string("web"), "name": .string("x")]))
            #expect(message == "kubernetes API: pods \"x\" not found (NotFound, code 404)")
            let grouped = await failure(
                catalog, "kubernetes.deployments.get.apps/v1", .object(["namespace": .string("web"), "name": .string("api")]))
            #expect(grouped == "kubernetes API: deployments.apps \"api\" not found (NotFound, code 404)")
            #expect(await fake.requests.last?.path == "/apis/apps/v1/namespaces/web/deployments/api")
        }
    }

    @Test("a wrong token fails with 401 Unauthorized")
    func unauthorized() async throws {
        try await withFakeKubernetes(token: "wrong") { _, catalog, _ in
            let message = await failure(catalog, "kubernetes.nodes.list.v1", .object([:]))
            #expect(message == "kubernetes API: Unauthorized (Unauthorized, code 401)")
        }
    }

    @Test("cluster-scoped resources ignore the namespace")
    func clusterScoped() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await fake.seed(
                try fakeResource("nodes"), namespace: nil, .object(["metadata": .object(["name": .string("node-1")])]))
            try await fake.seed(
                try fakeResource("clusterroles", "rbac.authorization.k8s.io"), namespace: nil,
                .object(["metadata": .object(["name": .string("view")])]))
            let node = try await call(
                catalog, "kubernetes.nodes.get.v1", .object(["name": .string("node-1"), "namespace": .string("ignored")]))
            #expect(node.field("kind") == .string("Node"))
            #expect(await fake.requests.last?.path == "/api/v1/nodes/node-1")
            let role = try await call(
                catalog, "kubernetes.clusterroles.get.rbac.authorization.k8s.io/v1", .object(["name": .string("view")]))
            #expect(role.field("metadata")?.field("name") == .string("view"))
            #expect(await fake.requests.last?.path == "/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
        }
    }

    @Test("list: one namespace, all namespaces, and label selectors")
    func list() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let pods = try fakeResource("pods")
            try await fake.seed(pods, namespace: "a", pod("one", labels: ["app": "web", "tier": "front"]))
            try await fake.seed(pods, namespace: "a", pod("two", labels: ["app": "db"]))
            try await fake.seed(pods, namespace: "b", pod("three", labels: ["app": "web", "tier": "back"]))

            let inA = try await call(catalog, "kubernetes.pods.list.v1", .object(["namespace": .string("a")]))
            #expect(inA.field("kind") == .string("PodList"))
            #expect(inA.field("apiVersion") == .string("v1"))
            #expect(inA.field("metadata")?.field("resourceVersion") != nil)
            #expect(names(inA) == ["one", "two"])
            #expect(await fake.requests.last?.path == "/api/v1/namespaces/a/pods")

            let all = try await call(catalog, "kubernetes.pods.list.v1", .object(["namespace": .string("")]))
            #expect(names(all) == ["one", "two", "three"])
            #expect(await fake.requests.last?.path == "/api/v1/pods")

            let absent = try await call(catalog, "kubernetes.pods.list.v1", nil)
            #expect(names(absent) == ["one", "two", "three"])

            let web = try await call(catalog, "kubernetes.pods.list.v1", .object(["labels": .object(["app": .string("web")])]))
            #expect(names(web) == ["one", "three"])
            let front = try await call(
                catalog, "kubernetes.pods.list.v1",
                .object(["labels": .object(["app": .string("web"), "tier": .string("front")])]))
            #expect(names(front) == ["one"])
            #expect(await fake.requests.last?.query == "labelSelector=app%3Dweb%2Ctier%3Dfront")

            let deployments = try await call(catalog, "kubernetes.deployments.list.apps/v1", .object(["namespace": .string("a")]))
            #expect(deployments.field("kind") == .string("DeploymentList"))
            #expect(deployments.field("apiVersion") == .string("apps/v1"))
            #expect(names(deployments) == [])
        }
    }

    @Test("merge patch is applied to the stored object")
    func mergePatch() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let deployments = try fakeResource("deployments", "apps")
            try await fake.seed(
                deployments, namespace: "web",
                .object([
                    "metadata": .object(["name": .string("api"), "labels": .object(["app": .string("api")])]),
                    "spec": .object(["replicas": .integer(1)]),
                ]))
            let patched = try await call(
                catalog, "kubernetes.deployments.patch.apps/v1",
                .object([
                    "namespace": .string("web"), "name": .string("api"), "patch_type": .string("merge"),
                    "patch_data": .object([
                        "spec": .object(["replicas": .integer(3)]),
                        "metadata": .object(["labels": .object(["app": .null, "team": .string("core")])]),
                    ]),
                ]))
            #expect(patched.field("spec")?.field("replicas") == .integer(3))
            #expect(patched.field("metadata")?.field("labels") == .object(["team": .string("core")]))
            let seen = await fake.requests.last
            #expect(seen?.method == "PATCH")
            #expect(seen?.path == "/apis/apps/v1/namespaces/web/deployments/api")
            #expect(seen?.contentType == "application/merge-patch+json")
            let stored = await fake.object(deployments, namespace: "web", name: "api")
            #expect(stored?.field("spec")?.field("replicas") == .integer(3))
        }
    }

    @Test("JSON patch is applied; a failing test op is the API server's 422")
    func jsonPatch() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let configmaps = try fakeResource("configmaps")
            try await fake.seed(
                configmaps, namespace: "web",
                .object(["metadata": .object(["name": .string("settings")]), "data": .object(["a": .string("1")])]))
            let patched = try await call(
                catalog, "kubernetes.configmaps.patch.v1",
                .object([
                    "namespace": .string("web"), "name": .string("settings"), "patch_type": .string("json"),
                    "patch_data": .array([
                        .object(["op": .string("test"), "path": .string("/data/a"), "value": .string("1")]),
                        .object(["op": .string("replace"), "path": .string("/data/a"), "value": .string("2")]),
                        .object(["op": .string("add"), "path": .string("/data/b"), "value": .string("3")]),
                    ]),
                ]))
            #expect(patched.field("data") == .object(["a": .string("2"), "b": .string("3")]))
            #expect(await fake.requests.last?.contentType == "application/json-patch+json")

            let message = await failure(
                catalog, "kubernetes.configmaps.patch.v1",
                .object([
                    "namespace": .string("web"), "name": .string("settings"), "patch_type": .string("json"),
                    "patch_data": .array([.object(["op": .string("test"), "path": .string("/data/a"), "value": .string("9")])]),
                ]))
            #expect(message?.contains("(Invalid, code 422)") == true)
            let bad = await failure(
                catalog, "kubernetes.configmaps.patch.v1",
                .object([
                    "namespace": .string("web"), "name": .string("settings"), "patch_type": .string("strategic"),
                    "patch_data": .object([:]),
                ]))
            #expect(bad == "\"patch_type\" must be \"json\" or \"merge\", got \"strategic\"")
        }
    }

    @Test("delete returns the API server's Status and removes the object; leases use coordination.k8s.io/v1")
    func delete() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let leases = try fakeResource("leases", "coordination.k8s.io")
            try await fake.seed(leases, namespace: "kube-system", .object(["metadata": .object(["name": .string("lock")])]))
            let status = try await call(
                catalog, "kubernetes.leases.delete.coordination.k8s.io/v1",
                .object(["namespace": .string("kube-system"), "name": .string("lock")]))
            #expect(status.field("kind") == .string("Status"))
            #expect(status.field("status") == .string("Success"))
            #expect(status.field("details")?.field("name") == .string("lock"))
            #expect(await fake.requests.last?.path == "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/lock")
            #expect(await fake.object(leases, namespace: "kube-system", name: "lock") == nil)
            let again = await failure(
                catalog, "kubernetes.leases.delete.coordination.k8s.io/v1",
                .object(["namespace": .string("kube-system"), "name": .string("lock")]))
            #expect(again == "kubernetes API: leases.coordination.k8s.io \"lock\" not found (NotFound, code 404)")
        }
    }

    @Test("input errors are clear")
    func inputErrors() async throws {
        try await withFakeKubernetes { _, catalog, _ in
            #expect(
                await failure(catalog, "kubernetes.pods.get.v1", .object(["namespace": .string("a")])) == "\"name\" is required")
            #expect(
                await failure(catalog, "kubernetes.pods.get.v1", .object(["name": .string("x")]))
                    == "\"namespace\" is required: pods are namespaced")
            #expect(
                await failure(catalog, "kubernetes.pods.get.v1", .object(["name": .integer(3), "namespace": .string("a")]))
                    == "\"name\" must be a string, got number")
            #expect(
                await failure(catalog, "kubernetes.pods.list.v1", .object(["labels": .string("app=web")]))
                    == "\"labels\" must be an object, got string")
            #expect(await failure(catalog, "kubernetes.pods.get.v1", .array([])) == "inputs must be an object, got array")
        }
    }

    @Test("without Kubernetes access the commands fail clearly")
    func noAccess() async throws {
        let catalog = try makeCatalog()
        let message = await failure(catalog, "kubernetes.pods.list.v1", .object([:]))
        #expect(message == "no Kubernetes access configured: kubernetes.pods.list.v1 cannot run")
    }

    @Test("an unreachable API server fails with the connection error")
    func unreachable() async throws {
        let access = KubernetesAccess(baseURL: "http://127.0.0.1:1", authentication: .bearerToken("t"))
        let catalog = try makeCatalog(kubernetes: access)
        let message = await failure(catalog, "kubernetes.nodes.list.v1", .object([:]))
        #expect(message?.hasPrefix("kubernetes API GET /api/v1/nodes: ") == true)
    }
}

func names(_ list: JSONValue) -> [String] {
    guard case .array(let items)? = list.field("items") else { return [] }
    return items.compactMap {
        if case .string(let name)? = $0.field("metadata")?.field("name") { return name }
        return nil
    }
}
