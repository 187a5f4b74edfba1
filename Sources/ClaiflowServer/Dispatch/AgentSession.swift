import ClaiflowCore

/// An authenticated agent call: the verified claims of its session token.
public struct AgentSession: Sendable, Equatable {
    /// The claims of the session token.
    public var claims: SessionClaims
    /// When the cluster token behind the session expires.
    public var tokenExpires: Timestamp
}
