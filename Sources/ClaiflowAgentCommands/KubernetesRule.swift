/// One RBAC policy rule a command needs: verbs on resources of API groups, optionally limited to
/// named objects — the shape of a ClusterRole or Role rule.
public struct KubernetesRule: Sendable, Hashable {
    /// The API groups (`""` for the core group, `"*"` for all).
    public var apiGroups: [String]
    /// The resources, subresources as `pods/exec` (`"*"` for all).
    public var resources: [String]
    /// The verbs: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` (`"*"` for all).
    public var verbs: [String]
    /// Object names the rule is limited to; empty for every object.
    public var resourceNames: [String]

    /// Creates a rule.
    public init(apiGroups: [String], resources: [String], verbs: [String], resourceNames: [String] = []) {
        self.apiGroups = apiGroups
        self.resources = resources
        self.verbs = verbs
        self.resourceNames = resourceNames
    }

    /// Whether this rule allows `verb` on `resource` of `group` (for the object `name`, or for any
    /// object when nil), with RBAC's `*` wildcards.
    public func allows(group: String, resource: String, verb: String, name: String? = nil) -> Bool {
        func matches(_ values: [String], _ value: String) -> Bool { values.contains("*") || values.contains(value) }
        guard matches(apiGroups, group), matches(resources, resource), matches(verbs, verb) else { return false }
        if resourceNames.isEmpty { return true }
        guard let name else { return false }
        return resourceNames.contains(name)
    }
}
