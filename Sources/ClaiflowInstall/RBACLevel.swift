import ClaiflowAgentCommands

/// How much the agent may do in its cluster, from the command catalog's declarations
/// (``ClaiflowAgentCommands/CommandCatalog/permissions``).
public enum RBACLevel: String, Sendable, CaseIterable {
    /// `get`, `list` and `watch` on what the read commands touch.
    case readOnly = "read-only"
    /// Adds what the write commands and the agent's own upgrade need (`patch`, `delete`,
    /// `pods/exec`, the credential Secret).
    case standard
    /// Everything (`*`), as Helm installs of arbitrary charts need.
    case admin

    /// The highest command level this RBAC level grants.
    public var grantedCommandLevel: CommandPermission.Level {
        switch self {
        case .readOnly: .read
        case .standard: .write
        case .admin: .admin
        }
    }

    /// Whether commands declared with `permission` run under this level.
    public func grants(_ permission: CommandPermission) -> Bool {
        permission.level <= grantedCommandLevel
    }
}
