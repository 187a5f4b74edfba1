import ClaiflowCore
import JWTKit

/// The claims of an agent session JWT, with the original's claim keys. Every claim is required:
/// a token without one (even when signed with the right key) does not decode and is refused
/// with 401, so that no check tied to a claim can be skipped by leaving the claim out.
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
    /// The agent's version (`client-version`; `""` in the token when the agent sent none).
    public var clientVersion: String?
    /// The agent library's version (`""` when absent).
    public var clientLibVersion: String
    /// The first characters of the cluster token's hash (`cth`): a rotated token ends its sessions.
    public var tokenHashPrefix: String

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
        clientLibVersion: String, tokenHashPrefix: String
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

    /// Decodes the claims; fails when any claim is missing, or when an identifier or the token
    /// hash prefix is empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clusterUUID = try Self.nonEmpty(c, .clusterUUID)
        tokenUUID = try Self.nonEmpty(c, .tokenUUID)
        uuid = try Self.nonEmpty(c, .uuid)
        iat = try c.decode(Int64.self, forKey: .iat)
        exp = try c.decode(Int64.self, forKey: .exp)
        let version = try c.decode(String.self, forKey: .clientVersion)
        clientVersion = version.isEmpty ? nil : version
        clientLibVersion = try c.decode(String.self, forKey: .clientLibVersion)
        tokenHashPrefix = try Self.nonEmpty(c, .tokenHashPrefix)
    }

    /// Encodes every claim (an absent client version as `""`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(clusterUUID, forKey: .clusterUUID)
        try c.encode(tokenUUID, forKey: .tokenUUID)
        try c.encode(uuid, forKey: .uuid)
        try c.encode(iat, forKey: .iat)
        try c.encode(exp, forKey: .exp)
        try c.encode(clientVersion ?? "", forKey: .clientVersion)
        try c.encode(clientLibVersion, forKey: .clientLibVersion)
        try c.encode(tokenHashPrefix, forKey: .tokenHashPrefix)
    }

    private static func nonEmpty(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String {
        let value = try c.decode(String.self, forKey: key)
        guard !value.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "the claim \(key.rawValue) is empty")
        }
        return value
    }

    /// Checks the expiry and that the token is not issued in the future (JWTKit calls it).
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        let now = Timestamp.now().unixSeconds
        guard now < exp else { throw ClaiflowError(.unauthenticated, "the session token has expired; authenticate again") }
        guard iat <= now + 5 else { throw ClaiflowError(.unauthenticated, "the session token is not valid yet") }
    }
}
