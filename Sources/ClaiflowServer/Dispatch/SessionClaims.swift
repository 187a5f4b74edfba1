import ClaiflowCore
import JWTKit

/// The claims of an agent session JWT, with the original's claim keys.
public struct SessionClaims: JWTPayload, Equatable {
    /// The cluster the session belongs to (`cluster-uuid`).
    public var clusterUUID: String
    /// The cluster token the session was opened with (`cluster-client-token-uuid`).
    public var tokenUUID: String
    /// The session's uuid.
    public var uuid: String
    /// Issued at, Unix seconds.
    public var iat: Int64
    /// Expiry, Unix seconds.
    public var exp: Int64
    /// The agent's version (`client-version`), when it sent one.
    public var clientVersion: String?
    /// The agent library's version (`""` when absent).
    public var clientLibVersion: String
    /// The first characters of the cluster token's hash: a rotated token ends its sessions.
    public var tokenHashPrefix: String?

    enum CodingKeys: String, CodingKey {
        case clusterUUID = "cluster-uuid"
        case tokenUUID = "cluster-client-token-uuid"
        case uuid, iat, exp
        case clientVersion = "client-version"
        case clientLibVersion = "client_lib_version"
        case tokenHashPrefix = "cth"
    }

    /// Creates claims.
    public init(
        clusterUUID: String, tokenUUID: String, uuid: String, iat: Int64, exp: Int64, clientVersion: String?,
        clientLibVersion: String, tokenHashPrefix: String? = nil
    ) {
        self.clusterUUID = clusterUUID
        self.tokenUUID = tokenUUID
        self.uuid = uuid
        self.iat = iat
        self.exp = exp
        self.clientVersion = clientVersion
        self.clientLibVersion = clientLibVersion
        self.tokenHashPrefix = tokenHashPrefix
    }

    /// Checks the expiry and that the token is not issued in the future (JWTKit calls it).
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        let now = Timestamp.now().unixSeconds
        guard now < exp else { throw ClaiflowError(.unauthenticated, "the session token has expired; authenticate again") }
        guard iat <= now + 5 else { throw ClaiflowError(.unauthenticated, "the session token is not valid yet") }
    }
}
