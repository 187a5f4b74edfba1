import ClaiflowCore
import ClaiflowStore
import Crypto
import Foundation
import Synchronization

/// Checks operator API keys: the configured admin token, or a key stored (hashed) in the store.
/// Results are cached for a few seconds; deleting a key through this process drops it from the
/// cache at once (other replicas notice within ``cacheTTL``).
public final class APIKeyAuthenticator: Sendable {
    /// How long a lookup result is reused.
    public static let cacheTTL: Duration = .seconds(5)
    private static let maxCacheEntries = 10_000

    private struct Entry {
        var principal: Principal?
        var expires: ContinuousClock.Instant
    }

    private let store: Store
    private let adminTokenHash: String?
    private let cache = Mutex<[String: Entry]>([:])

    /// `adminToken` is the configured bootstrap admin token, if any.
    public init(store: Store, adminToken: String?) {
        self.store = store
        self.adminTokenHash = adminToken.flatMap { $0.isEmpty ? nil : Secrets.sha256Hex($0) }
    }

    /// Whether an admin token is configured (so stored admin keys are not the only way in).
    public var hasConfiguredAdminToken: Bool { adminTokenHash != nil }

    /// The principal for a presented bearer key, or nil when the key is unknown.
    public func authenticate(_ key: String) async throws -> Principal? {
        let hash = Secrets.sha256Hex(key)
        if let adminTokenHash, Secrets.constantTimeEqual(hash, adminTokenHash) {
            return Principal(keyUUID: "config", name: "configured admin token", role: .admin)
        }
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[hash] }), hit.expires > now { return hit.principal }
        let principal = try await store.apiKey(hash: hash).map { Principal(keyUUID: $0.uuid, name: $0.name, role: $0.role) }
        cache.withLock { c in
            if c.count >= Self.maxCacheEntries { c.removeAll() }
            c[hash] = Entry(principal: principal, expires: now + Self.cacheTTL)
        }
        return principal
    }

    /// Forgets every cached result of a key (after it was deleted).
    public func invalidate(keyUUID: String) {
        cache.withLock { c in c = c.filter { $0.value.principal?.keyUUID != keyUUID } }
    }

    /// Forgets every cached negative result (after a key was created).
    public func forgetUnknownKeys() {
        cache.withLock { c in c = c.filter { $0.value.principal != nil } }
    }
}

/// Secret generation and hashing.
public enum Secrets {
    /// Lowercase hex SHA-256 of a UTF-8 string.
    public static func sha256Hex(_ s: String) -> String {
        Hex.encode(SHA256.hash(data: Array(s.utf8)))
    }

    /// Compares two strings in time independent of where they differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// `count` random bytes from the system's secure generator.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// A new operator API key: `cfk_` followed by 43 base64url characters (256 random bits).
    public static func newAPIKey() -> String {
        "cfk_"
            + Base64.encode(randomBytes(32)).replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A new cluster token secret: 32 lowercase hex characters (128 random bits), like the original's.
    public static func newClusterToken() -> String {
        Hex.encode(randomBytes(16))
    }
}
