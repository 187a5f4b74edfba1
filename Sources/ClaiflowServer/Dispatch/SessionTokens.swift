import ClaiflowCore
import Foundation
import JWTKit
import Synchronization

/// The claims of an agent session JWT, with the original's claim keys.
public struct SessionClaims: JWTPayload, Equatable {
    public var clusterUUID: String
    public var tokenUUID: String
    public var uuid: String
    public var iat: Int64
    public var exp: Int64
    public var clientVersion: String?
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

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        let now = Timestamp.now().unixSeconds
        guard now < exp else { throw ClaiflowError(.unauthorized, "the session token has expired; authenticate again") }
        guard iat <= now + 5 else { throw ClaiflowError(.unauthorized, "the session token is not valid yet") }
    }
}

/// Signs and verifies session JWTs (HS256) with the installation's secret
/// (`ClientSession/SignatureSecret`), following changes of the secret.
public final class SessionTokens: Sendable {
    private let settings: SettingsCache
    private let current = Mutex<(secret: [UInt8], keys: JWTKeyCollection)?>(nil)

    public init(settings: SettingsCache) { self.settings = settings }

    private func keys() async -> JWTKeyCollection {
        let secret = settings.settings.sessionSignatureSecret
        if let c = current.withLock({ $0 }), c.secret == secret { return c.keys }
        let keys = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        current.withLock { $0 = (secret, keys) }
        return keys
    }

    /// A signed token for the claims.
    public func sign(_ claims: SessionClaims) async throws -> String {
        try await keys().sign(claims)
    }

    /// The claims of a valid token; 401 otherwise.
    public func verify(_ token: String) async throws(ClaiflowError) -> SessionClaims {
        do {
            let claims = try await keys().verify(token, as: SessionClaims.self)
            // Only HS256 is accepted (jwt-kit checks the algorithm of the key it verifies with).
            return claims
        } catch let e as ClaiflowError {
            throw e
        } catch {
            throw ClaiflowError(.unauthorized, "invalid session token; authenticate again")
        }
    }
}
