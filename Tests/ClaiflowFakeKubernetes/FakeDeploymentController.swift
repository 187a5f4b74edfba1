import ClaiflowCore
import Foundation

/// A Deployment controller for the fake: Deployments with their ReplicaSets and pods (owner
/// references as the real controllers set them), and rollouts that advance one step each time a
/// client reads the Deployment, the way `kubectl rollout status` sees a real one progress.
///
/// After a template change (a new `metadata.generation`), the first read observes it: a
/// ReplicaSet for the new template is created (or an older one with the same template is reused),
/// the revision is bumped and `updatedReplicas` is the desired count while the new pods are not
/// available yet. Then, by the rollout chosen for the template's first image (``setRollout(_:forImage:)``):
/// - ``Rollout/completes``: the next read has the new pods available, the old ones pending
///   termination; the one after scales the old ReplicaSets to zero (`NewReplicaSetAvailable`);
/// - ``Rollout/stalls``: nothing more happens;
/// - ``Rollout/exceedsProgressDeadline``: the next read has the `Progressing` condition false with
///   reason `ProgressDeadlineExceeded`.
extension FakeKubernetesAPIServer {
    /// How a Deployment rolls out to a template.
    public enum Rollout: Sendable {
        case completes
        case stalls
        case exceedsProgressDeadline
    }

    static let revisionAnnotation = "deployment.kubernetes.io/revision"

    /// Makes templates whose first container runs `image` roll out as `rollout` (default `.completes`).
    public func setRollout(_ rollout: Rollout, forImage image: String) {
        rollouts[image] = rollout
    }

    /// Seeds a rolled-out Deployment `name` whose pod template is `template` (its labels are the
    /// selector), its ReplicaSet, and `replicas` running pods, the first named `podName`.
    @discardableResult
    public func seedDeployment(
        namespace: String, name: String, template: JSONValue, replicas: Int = 1, podName: String
    ) throws -> JSONValue {
        let deployments = Self.resource(group: "apps", version: "v1", name: "deployments")!
        let labels = template[path: ["metadata", "labels"]] ?? .object([:])
        var deployment = try seed(
            deployments, namespace: namespace,
            .object([
                "metadata": .object(["name": .string(name), "annotations": .object([Self.revisionAnnotation: .string("1")])]),
                "spec": .object([
                    "replicas": .integer(Int64(replicas)), "selector": .object(["matchLabels": labels]), "template": template,
                    "strategy": .object(["type": .string("RollingUpdate")]), "progressDeadlineSeconds": .integer(600),
                ]),
            ]))
        let replicaSet = try replicaSet(for: deployment, revision: 1, available: replicas)
        deployment[path: ["status"]] = .object([
            "observedGeneration": .integer(1), "replicas": .integer(Int64(replicas)),
            "updatedReplicas": .integer(Int64(replicas)), "readyReplicas": .integer(Int64(replicas)),
            "availableReplicas": .integer(Int64(replicas)),
            "conditions": .array([
                Self.condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                Self.condition(
                    "Progressing", "True", "NewReplicaSetAvailable",
                    "ReplicaSet \"\(replicaSet.name)\" has successfully progressed."),
            ]),
        ])
        objects[key(deployments, namespace, name)] = deployment
        let pods = Self.resource(group: "", version: "v1", name: "pods")!
        for index in 0..<replicas {
            var pod = template
            pod[path: ["metadata", "name"]] = .string(index == 0 ? podName : "\(replicaSet.name)-\(index)")
            pod[path: ["metadata", "labels", "pod-template-hash"]] = .string(replicaSet.hash)
            pod[path: ["metadata", "ownerReferences"]] = .array([
                Self.ownerReference("apps/v1", "ReplicaSet", replicaSet.name, replicaSet.uid)
            ])
            pod[path: ["status"]] = .object(["phase": .string("Running")])
            try seed(pods, namespace: namespace, pod)
        }
        return deployment
    }

    /// The ReplicaSets owned by a Deployment, by name.
    public func replicaSets(ofDeployment name: String, namespace: String) -> [String: JSONValue] {
        let deployments = Self.resource(group: "apps", version: "v1", name: "deployments")!
        guard let uid = objects[key(deployments, namespace, name)]?[path: ["metadata", "uid"]] else { return [:] }
        var found: [String: JSONValue] = [:]
        for (key, object) in objects where key.resource == "replicasets" && key.namespace == namespace {
            let owners = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
            if owners.contains(where: { $0[path: ["uid"]] == uid }) { found[key.name] = object }
        }
        return found
    }

    /// One step of the controller for the Deployment `name` (see the type's documentation).
    func controlDeployment(namespace: String, name: String) {
        let deployments = Self.resource(group: "apps", version: "v1", name: "deployments")!
        let replicaSetResource = Self.resource(group: "apps", version: "v1", name: "replicasets")!
        guard var deployment = objects[key(deployments, namespace, name)],
            let template = deployment[path: ["spec", "template"]]
        else { return }
        let generation = deployment[path: ["metadata", "generation"]]?.integerValue ?? 1
        let observed = deployment[path: ["status", "observedGeneration"]]?.integerValue ?? 0
        let replicas = Int(deployment[path: ["spec", "replicas"]]?.integerValue ?? 1)
        let hash = Self.templateHash(template)
        let owned = replicaSets(ofDeployment: name, namespace: namespace)
        let old = owned.filter { $0.value[path: ["metadata", "labels", "pod-template-hash"]]?.stringValue != hash }
        let oldReplicas = old.values.reduce(0) { $0 + Int($1[path: ["status", "replicas"]]?.integerValue ?? 0) }
        let oldAvailable = old.values.reduce(0) { $0 + Int($1[path: ["status", "availableReplicas"]]?.integerValue ?? 0) }

        if observed < generation {
            let revision =
                (owned.values.compactMap {
                    Int($0[path: ["metadata", "annotations", Self.revisionAnnotation]]?.stringValue ?? "")
                }.max() ?? 0) + 1
            guard let created = try? replicaSet(for: deployment, revision: revision, available: 0) else { return }
            deployment[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(String(revision))
            deployment[path: ["status"]] = .object([
                "observedGeneration": .integer(generation), "replicas": .integer(Int64(replicas + oldReplicas)),
                "updatedReplicas": .integer(Int64(replicas)), "availableReplicas": .integer(Int64(oldAvailable)),
                "readyReplicas": .integer(Int64(oldAvailable)),
                "conditions": .array([
                    Self.condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                    Self.condition("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet \"\(created.name)\" is progressing."),
                ]),
            ])
            objects[key(deployments, namespace, name)] = deployment
            return
        }
        guard var current = owned["\(name)-\(hash)"] else { return }
        let image = template[path: ["spec", "containers", "0", "image"]]?.stringValue ?? ""
        let currentAvailable = Int(current[path: ["status", "availableReplicas"]]?.integerValue ?? 0)
        switch rollouts[image] ?? .completes {
        case .stalls:
            return
        case .exceedsProgressDeadline:
            deployment[path: ["status", "conditions"]] = .array([
                Self.condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                Self.condition(
                    "Progressing", "False", "ProgressDeadlineExceeded",
                    "ReplicaSet \"\(name)-\(hash)\" has timed out progressing."),
            ])
        case .completes where currentAvailable < replicas:
            for field in ["replicas", "readyReplicas", "availableReplicas"] {
                current[path: ["status", field]] = .integer(Int64(replicas))
            }
            objects[key(replicaSetResource, namespace, "\(name)-\(hash)")] = current
            deployment[path: ["status", "availableReplicas"]] = .integer(Int64(replicas + oldAvailable))
            deployment[path: ["status", "readyReplicas"]] = .integer(Int64(replicas + oldAvailable))
        case .completes:
            for (oldName, var replicaSet) in old {
                replicaSet[path: ["spec", "replicas"]] = .integer(0)
                for field in ["replicas", "readyReplicas", "availableReplicas"] {
                    replicaSet[path: ["status", field]] = .integer(0)
                }
                objects[key(replicaSetResource, namespace, oldName)] = replicaSet
            }
            for field in ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"] {
                deployment[path: ["status", field]] = .integer(Int64(replicas))
            }
            deployment[path: ["status", "conditions"]] = .array([
                Self.condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                Self.condition(
                    "Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"\(name)-\(hash)\" has successfully progressed."
                ),
            ])
        }
        objects[key(deployments, namespace, name)] = deployment
    }

    /// Creates (or reuses, for a template seen before) the ReplicaSet of a Deployment's current
    /// template at `revision`.
    private func replicaSet(
        for deployment: JSONValue, revision: Int, available: Int
    ) throws -> (name: String, uid: JSONValue, hash: String) {
        let replicaSets = Self.resource(group: "apps", version: "v1", name: "replicasets")!
        let namespace = deployment[path: ["metadata", "namespace"]]?.stringValue ?? "default"
        let deploymentName = deployment[path: ["metadata", "name"]]?.stringValue ?? ""
        var template = deployment[path: ["spec", "template"]] ?? .object([:])
        let hash = Self.templateHash(template)
        let name = "\(deploymentName)-\(hash)"
        let replicas = Int64(deployment[path: ["spec", "replicas"]]?.integerValue ?? 1)
        if var existing = objects[key(replicaSets, namespace, name)] {
            existing[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(String(revision))
            existing[path: ["spec", "replicas"]] = .integer(replicas)
            objects[key(replicaSets, namespace, name)] = existing
            return (name, existing[path: ["metadata", "uid"]] ?? .null, hash)
        }
        template[path: ["metadata", "labels", "pod-template-hash"]] = .string(hash)
        var selector = deployment[path: ["spec", "selector"]] ?? .object([:])
        selector[path: ["matchLabels", "pod-template-hash"]] = .string(hash)
        let stored = try seed(
            replicaSets, namespace: namespace,
            .object([
                "metadata": .object([
                    "name": .string(name), "labels": template[path: ["metadata", "labels"]] ?? .object([:]),
                    "annotations": .object([Self.revisionAnnotation: .string(String(revision))]),
                    "ownerReferences": .array([
                        Self.ownerReference(
                            "apps/v1", "Deployment", deploymentName, deployment[path: ["metadata", "uid"]] ?? .null)
                    ]),
                ]),
                "spec": .object(["replicas": .integer(replicas), "selector": selector, "template": template]),
                "status": .object([
                    "replicas": .integer(replicas), "readyReplicas": .integer(Int64(available)),
                    "availableReplicas": .integer(Int64(available)), "observedGeneration": .integer(1),
                ]),
            ]))
        return (name, stored[path: ["metadata", "uid"]] ?? .null, hash)
    }

    /// A stable hash of a pod template, as `pod-template-hash` (FNV-1a of its JSON).
    static func templateHash(_ template: JSONValue) -> String {
        var template = template
        template[path: ["metadata", "labels", "pod-template-hash"]] = nil
        var hash: UInt32 = 2_166_136_261
        for byte in template.serialized().utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return String(hash, radix: 16)
    }

    static func ownerReference(_ apiVersion: String, _ kind: String, _ name: String, _ uid: JSONValue) -> JSONValue {
        .object([
            "apiVersion": .string(apiVersion), "kind": .string(kind), "name": .string(name), "uid": uid,
            "controller": .bool(true), "blockOwnerDeletion": .bool(true),
        ])
    }

    static func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
        .object([
            "type": .string(type), "status": .string(status), "reason": .string(reason), "message": .string(message),
            "lastUpdateTime": .string("2026-01-01T00:00:00Z"), "lastTransitionTime": .string("2026-01-01T00:00:00Z"),
        ])
    }
}

extension FakeKubernetesAPIServer {
    /// Seeds an agent the way a cluster runs one, for the upgrade tests: the Deployment
    /// `claiflow-agent` (container `agent` running `image`, one replica, pod `podName`), whose
    /// environment has a literal `LOG_LEVEL=info`, `TOKEN` from the Secret `agent-secret` (key
    /// `token`), `MODE` from the ConfigMap `agent-settings` (key `mode`) and everything in the
    /// ConfigMap `agent-env` (`REGION=eu`) through `envFrom`. Returns the Deployment.
    @discardableResult
    public func seedAgent(
        namespace: String = "claiflow", image: String, podName: String = "claiflow-agent-7d4b9-x2x8q"
    )
        throws -> JSONValue
    {
        let configMaps = Self.resource(group: "", version: "v1", name: "configmaps")!
        let secrets = Self.resource(group: "", version: "v1", name: "secrets")!
        try seed(
            configMaps, namespace: namespace,
            .object(["metadata": .object(["name": .string("agent-settings")]), "data": .object(["mode": .string("normal")])]))
        try seed(
            configMaps, namespace: namespace,
            .object(["metadata": .object(["name": .string("agent-env")]), "data": .object(["REGION": .string("eu")])]))
        try seed(
            secrets, namespace: namespace,
            .object([
                "metadata": .object(["name": .string("agent-secret")]), "type": .string("Opaque"),
                "data": .object(["token": .string(Data("old-token".utf8).base64EncodedString())]),
            ]))
        let template = JSONValue.object([
            "metadata": .object(["labels": .object(["app": .string("claiflow-agent")])]),
            "spec": .object([
                "serviceAccountName": .string("claiflow-agent"),
                "containers": .array([
                    .object([
                        "name": .string("agent"), "image": .string(image), "args": .array([.string("agent")]),
                        "env": .array([
                            .object(["name": .string("LOG_LEVEL"), "value": .string("info")]),
                            .object([
                                "name": .string("TOKEN"),
                                "valueFrom": .object([
                                    "secretKeyRef": .object(["name": .string("agent-secret"), "key": .string("token")])
                                ]),
                            ]),
                            .object([
                                "name": .string("MODE"),
                                "valueFrom": .object([
                                    "configMapKeyRef": .object(["name": .string("agent-settings"), "key": .string("mode")])
                                ]),
                            ]),
                            .object([
                                "name": .string("POD_NAME"),
                                "valueFrom": .object(["fieldRef": .object(["fieldPath": .string("metadata.name")])]),
                            ]),
                        ]),
                        "envFrom": .array([.object(["configMapRef": .object(["name": .string("agent-env")])])]),
                    ])
                ]),
            ]),
        ])
        return try seedDeployment(namespace: namespace, name: "claiflow-agent", template: template, podName: podName)
    }
}
