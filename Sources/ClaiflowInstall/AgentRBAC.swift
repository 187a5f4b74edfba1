import ClaiflowAgentCommands

/// The agent's RBAC rules at a level, derived from what the catalog's commands declare
/// (``ClaiflowAgentCommands/CommandCatalog/permissions``): the ClusterRole's rules and the rules
/// of the Role in the agent's own namespace.
public struct AgentRBAC: Sendable {
    /// The ClusterRole's rules.
    public var clusterRules: [KubernetesRule]
    /// The rules of the Role in the agent's namespace.
    public var namespaceRules: [KubernetesRule]

    /// Rules given as they are (for instance parsed back from a manifest).
    public init(clusterRules: [KubernetesRule], namespaceRules: [KubernetesRule]) {
        self.clusterRules = clusterRules
        self.namespaceRules = namespaceRules
    }

    /// The rules for `level`: every declared rule of the commands the level grants, merged into as
    /// few rules as possible (same group, verbs and names: one rule). `read-only` adds `watch`
    /// wherever it grants `list`; `admin` is `*` on every resource (the ClusterRole of
    /// ``AgentManifests`` adds every non-resource URL).
    public init(level: RBACLevel, permissions: [String: CommandPermission] = CommandCatalog.permissions) {
        let granted = permissions.values.filter { level.grants($0) }
        if level == .admin {
            clusterRules = [KubernetesRule(apiGroups: ["*"], resources: ["*"], verbs: ["*"])]
        } else {
            clusterRules = Self.merge(granted.flatMap(\.clusterRules), addWatch: level == .readOnly)
        }
        namespaceRules = Self.merge(granted.flatMap(\.agentNamespaceRules), addWatch: false)
    }

    /// Whether the rules allow `verb` on `resource` of `group` cluster-wide, or (in the agent's
    /// namespace, for the object `name`) through the Role.
    public func allows(group: String, resource: String, verb: String, inAgentNamespace: Bool, name: String? = nil) -> Bool {
        if clusterRules.contains(where: { $0.allows(group: group, resource: resource, verb: verb, name: name) }) {
            return true
        }
        return inAgentNamespace
            && namespaceRules.contains { $0.allows(group: group, resource: resource, verb: verb, name: name) }
    }

    /// One rule per (group, verbs, names), resources sorted; rules sorted by group and resources.
    static func merge(_ rules: [KubernetesRule], addWatch: Bool) -> [KubernetesRule] {
        struct Target: Hashable {
            var group: String
            var resource: String
            var names: [String]
        }
        var verbs: [Target: Set<String>] = [:]
        for rule in rules {
            for group in rule.apiGroups {
                for resource in rule.resources {
                    verbs[Target(group: group, resource: resource, names: rule.resourceNames.sorted()), default: []]
                        .formUnion(rule.verbs)
                }
            }
        }
        // A target allowed on every object does not need a named rule for the same verbs.
        for (target, set) in verbs where !target.names.isEmpty {
            let unnamed = verbs[Target(group: target.group, resource: target.resource, names: [])] ?? []
            let remaining = set.subtracting(unnamed)
            verbs[target] = remaining.isEmpty ? nil : remaining
        }
        struct Key: Hashable {
            var group: String
            var verbs: [String]
            var names: [String]
        }
        var resources: [Key: [String]] = [:]
        for (target, set) in verbs {
            var set = set
            if addWatch, set.contains("list") { set.insert("watch") }
            resources[Key(group: target.group, verbs: Self.ordered(set), names: target.names), default: []].append(
                target.resource)
        }
        return resources.map { key, resources in
            KubernetesRule(apiGroups: [key.group], resources: resources.sorted(), verbs: key.verbs, resourceNames: key.names)
        }.sorted {
            ($0.apiGroups[0], $0.resources[0], $0.verbs.joined(separator: ","))
                < ($1.apiGroups[0], $1.resources[0], $1.verbs.joined(separator: ","))
        }
    }

    /// Verbs in the order `kubectl describe` shows them.
    private static let verbOrder = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"]

    static func ordered(_ verbs: Set<String>) -> [String] {
        verbs.sorted { (verbOrder.firstIndex(of: $0) ?? 99, $0) < (verbOrder.firstIndex(of: $1) ?? 99, $1) }
    }
}
