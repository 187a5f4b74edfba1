import ClaiflowCore
import ClaiflowStore
import Foundation

/// The web console's sign-in use cases: an API key is exchanged for a session whose token is
/// kept in a cookie; the store holds only the token's SHA-256.
public struct ConsoleSessions: Sendable {
    /// The cookie that carries the session token.
    public static let cookieName = "claiflow_session"
    /// The header a cookie-authenticated write carries its CSRF token in.
    public static let csrfHeader = "X-CSRF-Token"
    /// The form field a console form carries its CSRF token in.
    public static let csrfField = "_csrf"

    let store: Store
    let authenticator: APIKeyAuthenticator
    /// How long a session lasts.
    let lifetime: GoDuration

    /// Signs in with an API key: returns the new session and its token (for the cookie).
    public func signIn(key: String, now: Timestamp = .now()) async throws -> (token: String, session: ConsoleSession) {
        let key = key.trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.utf8.count <= 512, let principal = try await authenticator.authenticate(key) else {
            throw ClaiflowError(.unauthenticated, "invalid API key")
        }
        let token = "cfs_" + Secrets.newAPIKey().dropFirst(4)
        let session = ConsoleSession(
            tokenHash: Secrets.sha256Hex(token), keyUUID: principal.keyUUID, keyName: principal.name, role: principal.role,
            csrfToken: Hex.encode(Secrets.randomBytes(16)), created: now, expires: now.adding(lifetime))
        try await store.insertConsoleSession(session, now: now)
        return (token, session)
    }

    /// The live session of a cookie token, or nil.
    public func session(token: String, now: Timestamp = .now()) async throws -> ConsoleSession? {
        guard !token.isEmpty, token.utf8.count <= 512 else { return nil }
        return try await store.consoleSession(tokenHash: Secrets.sha256Hex(token), now: now)
    }

    /// Ends a session.
    public func signOut(token: String) async throws {
        try await store.deleteConsoleSession(tokenHash: Secrets.sha256Hex(token))
    }

    /// The session token of a `Cookie` header, if it has one.
    public static func token(cookieHeader: String?) -> String? {
        cookie(cookieName, in: cookieHeader)
    }

    /// The value of the cookie `name` in a `Cookie` header, if it has one.
    static func cookie(_ name: String, in cookieHeader: String?) -> String? {
        guard let cookieHeader else { return nil }
        for part in cookieHeader.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }
}

extension ConsoleSession {
    /// The principal a console session acts as.
    var principal: Principal { Principal(keyUUID: keyUUID, name: keyName, role: role) }

    /// Whether a presented CSRF token is this session's.
    func acceptsCSRF(_ presented: String?) -> Bool {
        guard let presented else { return false }
        return Secrets.constantTimeEqual(presented, csrfToken)
    }
}
