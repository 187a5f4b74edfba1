import ClaiflowAgent
import ClaiflowAgentCommands

/// The Kubernetes objects that install an agent: Namespace, ServiceAccount, ClusterRole and
/// ClusterRoleBinding, Role and RoleBinding (the agent's own namespace), Secret (the cluster
/// token) and the Deployment running `claiflow agent`.
///
/// `claiflow cluster register prod-eu-1 | kubectl apply -f -` prints them through ``render(_:)``.
public enum AgentManifests {
    /// The name of the ServiceAccount, Role, RoleBinding, Secret and Deployment.
    public static let name = "claiflow-agent"
    /// The Secret's key holding the token.
    public static let tokenKey = "token"

    /// The manifests as multi-document YAML, in the order `kubectl apply` needs them.
    public static func render(_ options: AgentInstallOptions) -> String {
        documents(options).map { "---\n" + $0.text() }.joined()
    }

    /// The RBAC rules of `level` as one YAML document with the keys `clusterRules` (the
    /// ClusterRole's) and `namespaceRules` (the Role's in the agent's namespace). The Helm chart
    /// ships them as `files/agent-rules/<level>.yaml`; a test keeps those files equal to this.
    public static func rulesDocument(_ level: RBACLevel) -> String {
        let rbac = AgentRBAC(level: level)
        return ManifestYAML.map([
            ("clusterRules", clusterRules(level, rbac)), ("namespaceRules", rules(rbac.namespaceRules)),
        ]).text()
    }

    /// The ClusterRole's rules; `admin` adds every non-resource URL.
    static func clusterRules(_ level: RBACLevel, _ rbac: AgentRBAC) -> ManifestYAML {
        guard level == .admin, case .list(var items) = rules(rbac.clusterRules) else { return rules(rbac.clusterRules) }
        items.append(.map([("nonResourceURLs", .list([.string("*")])), ("verbs", .list([.string("*")]))]))
        return .list(items)
    }

    /// The name of the ClusterRole and ClusterRoleBinding: cluster-wide, so the namespace is in it.
    static func clusterRoleName(_ options: AgentInstallOptions) -> String { "\(name)-\(options.namespace)" }

    static func labels(_ options: AgentInstallOptions) -> [(String, ManifestYAML)] {
        var labels: [(String, ManifestYAML)] = [
            ("app.kubernetes.io/name", .string(name)),
            ("app.kubernetes.io/part-of", .string("claiflow")),
            ("app.kubernetes.io/managed-by", .string("claiflow")),
            ("claiflow.io/cluster", .string(labelValue(options.clusterName))),
        ]
        for key in options.labels.keys.sorted() where !labels.contains(where: { $0.0 == key }) {
            labels.append((key, .string(options.labels[key] ?? "")))
        }
        return labels
    }

    /// A label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
    static func labelValue(_ text: String) -> String {
        var value = String(
            text.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": Character(scalar)
                default: "-"
                }
            }.prefix(63))
        while let last = value.last, !last.isLetter && !last.isNumber { value.removeLast() }
        while let first = value.first, !first.isLetter && !first.isNumber { value.removeFirst() }
        return value
    }

    static func metadata(_ objectName: String, namespace: String?, _ options: AgentInstallOptions) -> ManifestYAML {
        var pairs: [(String, ManifestYAML)] = [("name", .string(objectName))]
        if let namespace { pairs.append(("namespace", .string(namespace))) }
        pairs.append(("labels", .map(labels(options))))
        return .map(pairs)
    }

    static func rules(_ rules: [KubernetesRule]) -> ManifestYAML {
        .list(
            rules.map { rule in
                var pairs: [(String, ManifestYAML)] = [
                    ("apiGroups", .list(rule.apiGroups.map(ManifestYAML.string))),
                    ("resources", .list(rule.resources.map(ManifestYAML.string))),
                ]
                if !rule.resourceNames.isEmpty {
                    pairs.append(("resourceNames", .list(rule.resourceNames.map(ManifestYAML.string))))
                }
                pairs.append(("verbs", .list(rule.verbs.map(ManifestYAML.string))))
                return .map(pairs)
            })
    }

    static func documents(_ options: AgentInstallOptions) -> [ManifestYAML] {
        let namespace = options.namespace
        let rbac = AgentRBAC(level: options.rbac)
        let subject: ManifestYAML = .list([
            .map([("kind", .string("ServiceAccount")), ("name", .string(name)), ("namespace", .string(namespace))])
        ])
        return [
            .map([
                ("apiVersion", .string("v1")), ("kind", .string("Namespace")),
                ("metadata", metadata(namespace, namespace: nil, options)),
            ]),
            .map([
                ("apiVersion", .string("v1")), ("kind", .string("ServiceAccount")),
                ("metadata", metadata(name, namespace: namespace, options)),
            ]),
            .map([
                ("apiVersion", .string("rbac.authorization.k8s.io/v1")), ("kind", .string("ClusterRole")),
                ("metadata", metadata(clusterRoleName(options), namespace: nil, options)),
                ("rules", clusterRules(options.rbac, rbac)),
            ]),
            .map([
                ("apiVersion", .string("rbac.authorization.k8s.io/v1")), ("kind", .string("ClusterRoleBinding")),
                ("metadata", metadata(clusterRoleName(options), namespace: nil, options)),
                (
                    "roleRef",
                    .map([
                        ("apiGroup", .string("rbac.authorization.k8s.io")), ("kind", .string("ClusterRole")),
                        ("name", .string(clusterRoleName(options))),
                    ])
                ),
                ("subjects", subject),
            ]),
            .map([
                ("apiVersion", .string("rbac.authorization.k8s.io/v1")), ("kind", .string("Role")),
                ("metadata", metadata(name, namespace: namespace, options)),
                ("rules", rules(rbac.namespaceRules)),
            ]),
            .map([
                ("apiVersion", .string("rbac.authorization.k8s.io/v1")), ("kind", .string("RoleBinding")),
                ("metadata", metadata(name, namespace: namespace, options)),
                (
                    "roleRef",
                    .map([
                        ("apiGroup", .string("rbac.authorization.k8s.io")), ("kind", .string("Role")),
                        ("name", .string(name)),
                    ])
                ),
                ("subjects", subject),
            ]),
            .map([
                ("apiVersion", .string("v1")), ("kind", .string("Secret")),
                ("metadata", metadata(name, namespace: namespace, options)),
                ("type", .string("Opaque")),
                ("stringData", .map([(tokenKey, .string(options.token))])),
            ]),
            deployment(options),
        ]
    }

    static func deployment(_ options: AgentInstallOptions) -> ManifestYAML {
        let selector: ManifestYAML = .map([
            ("app.kubernetes.io/name", .string(name)), ("claiflow.io/cluster", .string(labelValue(options.clusterName))),
        ])
        let env: ManifestYAML = .list([
            .map([("name", .string(AgentSetting.server.environmentName)), ("value", .string(options.serverURL))]),
            .map([("name", .string(AgentSetting.cluster.environmentName)), ("value", .string(options.clusterUUID))]),
            .map([
                ("name", .string(AgentSetting.token.environmentName)),
                ("valueFrom", .map([("secretKeyRef", .map([("name", .string(name)), ("key", .string(tokenKey))]))])),
            ]),
            .map([("name", .string(AgentSetting.healthPort.environmentName)), ("value", .string(String(options.healthPort)))]),
            // How claiflow.client.upgrade finds its own pod.
            .map([
                ("name", .string("POD_NAME")),
                ("valueFrom", .map([("fieldRef", .map([("fieldPath", .string("metadata.name"))]))])),
            ]),
            // helm keeps its repositories and cache under $HOME: the writable /tmp volume.
            .map([("name", .string("HOME")), ("value", .string("/tmp"))]),
        ])
        func probe(_ path: String, period: Int, failures: Int) -> ManifestYAML {
            .map([
                ("httpGet", .map([("path", .string(path)), ("port", .string("health"))])),
                ("periodSeconds", .int(period)), ("timeoutSeconds", .int(2)), ("failureThreshold", .int(failures)),
            ])
        }
        let container: ManifestYAML = .map([
            ("name", .string("agent")),
            ("image", .string(options.image)),
            ("imagePullPolicy", .string("IfNotPresent")),
            ("args", .list([.string("agent")])),
            ("env", env),
            ("ports", .list([.map([("name", .string("health")), ("containerPort", .int(options.healthPort))])])),
            ("livenessProbe", probe("/healthz", period: 10, failures: 3)),
            ("readinessProbe", probe("/readyz", period: 5, failures: 2)),
            (
                "resources",
                .map([
                    ("requests", .map([("cpu", .string("50m")), ("memory", .string("64Mi"))])),
                    ("limits", .map([("cpu", .string("1")), ("memory", .string("512Mi"))])),
                ])
            ),
            (
                "securityContext",
                .map([
                    ("allowPrivilegeEscalation", .bool(false)), ("readOnlyRootFilesystem", .bool(true)),
                    ("runAsNonRoot", .bool(true)), ("capabilities", .map([("drop", .list([.string("ALL")]))])),
                ])
            ),
            ("volumeMounts", .list([.map([("name", .string("tmp")), ("mountPath", .string("/tmp"))])])),
        ])
        let podSpec: ManifestYAML = .map([
            ("serviceAccountName", .string(name)),
            // More than the agent's 30 s grace for running services plus 10 s for their final reports.
            ("terminationGracePeriodSeconds", .int(45)),
            (
                "securityContext",
                .map([
                    ("runAsNonRoot", .bool(true)), ("runAsUser", .int(65532)), ("runAsGroup", .int(65532)),
                    ("fsGroup", .int(65532)), ("seccompProfile", .map([("type", .string("RuntimeDefault"))])),
                ])
            ),
            ("containers", .list([container])),
            ("volumes", .list([.map([("name", .string("tmp")), ("emptyDir", .map([("sizeLimit", .string("256Mi"))]))])])),
        ])
        return .map([
            ("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")),
            ("metadata", metadata(name, namespace: options.namespace, options)),
            (
                "spec",
                .map([
                    ("replicas", .int(1)),
                    ("selector", .map([("matchLabels", selector)])),
                    // The new pod is ready (connected to the server) before the old one stops:
                    // what claiflow.client.upgrade waits for.
                    (
                        "strategy",
                        .map([
                            ("type", .string("RollingUpdate")),
                            ("rollingUpdate", .map([("maxSurge", .int(1)), ("maxUnavailable", .int(0))])),
                        ])
                    ),
                    (
                        "template",
                        .map([
                            ("metadata", .map([("labels", .map(labels(options)))])),
                            ("spec", podSpec),
                        ])
                    ),
                ])
            ),
        ])
    }
}
