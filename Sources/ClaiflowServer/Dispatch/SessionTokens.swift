import ClaiflowCore
import Foundation
import JWTKit
import Synchronization

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
            throw ClaiflowError(.unauthenticated, "invalid session token; authenticate again")
        }
    }
}
