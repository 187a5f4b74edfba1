/// What a built-in command needs from the Kubernetes API, declared next to the catalog so that the
/// agent's RBAC (``CommandCatalog/permissions``) is derived from the commands rather than written
/// by hand a second time.
public struct CommandPermission: Sendable, Hashable {
    /// How much access a command needs, from none to cluster-admin.
    public enum Level: Int, Sendable, Hashable, Comparable, CaseIterable {
        /// No Kubernetes API call (`prometheus.*`, `http.request`, `claiflow.echo`, a Helm repo command).
        case none
        /// Reads only: `get`, `list` (and `watch`, which read-only RBAC grants with them).
        case read
        /// Writes: `patch`, `delete`, `create` on the catalog's resources, `pods/exec`, the agent's upgrade.
        case write
        /// Anything a chart may contain: only the cluster-admin-like RBAC level covers it.
        case admin

        /// Orders the levels from ``none`` to ``admin``.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The level the command belongs to.
    public var level: Level
    /// Rules over the whole cluster (a ClusterRole).
    public var clusterRules: [KubernetesRule]
    /// Rules in the agent's own namespace only (a Role): its credential Secret, its own Deployment.
    public var agentNamespaceRules: [KubernetesRule]
    /// Why the command needs them, for the rules that are not plain API calls on one resource.
    public var reason: String?

    /// Creates a declaration.
    public init(
        level: Level, clusterRules: [KubernetesRule] = [], agentNamespaceRules: [KubernetesRule] = [], reason: String? = nil
    ) {
        self.level = level
        self.clusterRules = clusterRules
        self.agentNamespaceRules = agentNamespaceRules
        self.reason = reason
    }

    /// A command that does not call the Kubernetes API.
    public static let noAccess = CommandPermission(level: .none)
}
