/// A web console sign-in: made from an API key, it carries the key's name and role. Only the
/// SHA-256 of its token is stored; the token itself lives in the browser's cookie.
public struct ConsoleSession: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the session token.
    public var tokenHash: String
    /// The API key signed in with (`config` for the configured admin token).
    public var keyUUID: String
    /// The API key's name.
    public var keyName: String
    /// The API key's role.
    public var role: Role
    /// The token every form and write of this session must carry (CSRF).
    public var csrfToken: String
    public var created: Timestamp
    /// When the session stops being accepted.
    public var expires: Timestamp

    public init(
        tokenHash: String, keyUUID: String, keyName: String, role: Role, csrfToken: String, created: Timestamp,
        expires: Timestamp
    ) {
        self.tokenHash = tokenHash
        self.keyUUID = keyUUID
        self.keyName = keyName
        self.role = role
        self.csrfToken = csrfToken
        self.created = created
        self.expires = expires
    }
}
