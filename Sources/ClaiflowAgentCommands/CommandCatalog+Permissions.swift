extension CommandCatalog {
    /// The name of the Secret the credential commands keep credentials in, in the agent's namespace.
    public static let credentialSecretName = "claiflow-credential"

    /// What each built-in command (and each system command) needs from the Kubernetes API, by
    /// name. The install manifests derive the agent's ClusterRole and Role from it; a test checks
    /// that every command ``builtin(_:)`` registers is declared here.
    ///
    /// - `kubernetes.<resource>.<verb>.<groupVersion>`: that verb on that resource (`get` and
    ///   `list` read; `patch` and `delete` write).
    /// - `kubernetes.pods.exec.v1`: `get` on `pods` (the container is checked first) and `create`
    ///   plus `get` on `pods/exec` (the WebSocket upgrade is a GET, authorized as `create` since
    ///   Kubernetes 1.30 and as `get` before).
    /// - `helm.install`, `helm.upgrade`, `helm.rollback`, `helm.uninstall`: a chart may hold any
    ///   kind (CRDs, RBAC objects, webhooks, other namespaces), so only `*` covers them.
    /// - `helm.get_values`, `helm.history`: `get`, `list` on `secrets` (Helm keeps releases in
    ///   Secrets of the release's namespace). The Helm repository commands touch local files only.
    /// - `claiflow.credential.*`: the `claiflow-credential` Secret of the agent's namespace.
    /// - `claiflow.client.upgrade`: the agent's own pod, ReplicaSets and Deployment, and the
    ///   ConfigMaps and Secrets its environment uses, in its namespace (see `KubernetesAgentUpgrader`).
    /// - `claiflow.client_pod.rebounce`: nothing (the process exits; its Deployment restarts it).
    public static let permissions: [String: CommandPermission] = {
        var permissions: [String: CommandPermission] = [:]
        for resource in KubernetesResource.all {
            for verb in KubernetesCommands.verbs {
                let rule = KubernetesRule(apiGroups: [resource.group], resources: [resource.name], verbs: [verb])
                let level: CommandPermission.Level = verb == "get" || verb == "list" ? .read : .write
                permissions[resource.commandName(verb)] = CommandPermission(level: level, clusterRules: [rule])
            }
        }
        permissions[KubernetesCommands.execCommand] = CommandPermission(
            level: .write,
            clusterRules: [
                KubernetesRule(apiGroups: [""], resources: ["pods"], verbs: ["get"]),
                KubernetesRule(apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"]),
            ],
            reason: "reads the pod, then opens the pods/exec WebSocket (create since Kubernetes 1.30, get before)")

        let anything = CommandPermission(
            level: .admin, clusterRules: [KubernetesRule(apiGroups: ["*"], resources: ["*"], verbs: ["*"])],
            reason: "a chart may hold any kind, in any namespace, RBAC objects and CRDs included")
        for name in ["helm.install", "helm.upgrade", "helm.rollback", "helm.uninstall"] {
            permissions[name] = anything
        }
        let releases = CommandPermission(
            level: .read, clusterRules: [KubernetesRule(apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"])],
            reason: "Helm reads its releases from Secrets of the release's namespace")
        permissions["helm.get_values"] = releases
        permissions["helm.history"] = releases
        for name in ["helm.repo_add", "helm.repo_list", "helm.repo_update"] {
            permissions[name] = .noAccess
        }

        let credential = [credentialSecretName]
        for verb in CredentialCommands.verbs {
            let permission: CommandPermission
            if verb == "get" {
                permission = CommandPermission(
                    level: .read,
                    agentNamespaceRules: [
                        KubernetesRule(apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: credential)
                    ],
                    reason: "credentials are kept in the claiflow-credential Secret of the agent's namespace")
            } else {
                permission = CommandPermission(
                    level: .write,
                    agentNamespaceRules: [
                        KubernetesRule(
                            apiGroups: [""], resources: ["secrets"], verbs: ["get", "patch"], resourceNames: credential),
                        KubernetesRule(apiGroups: [""], resources: ["secrets"], verbs: ["create"]),
                    ],
                    reason:
                        "credentials are kept in the claiflow-credential Secret of the agent's namespace, created on first use")
            }
            permissions["claiflow.credential.\(verb)"] = permission
            permissions["credstor.credential.\(verb)"] = permission
        }

        permissions[upgradeCommand] = CommandPermission(
            level: .write,
            agentNamespaceRules: [
                KubernetesRule(apiGroups: [""], resources: ["pods"], verbs: ["get"]),
                KubernetesRule(apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list"]),
                KubernetesRule(apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"]),
                KubernetesRule(apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get", "patch"]),
            ],
            reason: "finds its pod's ReplicaSet and Deployment, patches the Deployment and the ConfigMaps and Secrets of its env")
        permissions[rebounceCommand] = .noAccess

        for name in [
            "prometheus.query.v1", "prometheus.query_range.v1", "prometheus.alerts.v1", "prometheus.alertmanagers.v1",
            "prometheus.rules.v1", "prometheus.targets.v1", "prometheus.targets/metadata.v1", "http.request",
            "claiflow.echo", "claiflow.sleep",
        ] {
            permissions[name] = .noAccess
        }
        return permissions
    }()
}
