import ClaiflowCore
import Foundation
import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <key>` with a role high enough: `readRole` for GET/HEAD,
/// `writeRole` for everything else. 401 without a valid key, 403 when the role is too low.
///
/// With `sessions`, a request without `Authorization` may instead carry the web console's
/// session cookie; its writes must then carry the session's CSRF token in `X-CSRF-Token` (403
/// without it), so that another site cannot make a signed-in browser write.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: APIKeyAuthenticator
    let readRole: Role
    let writeRole: Role
    var sessions: ConsoleSessions? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        var context = context
        let isRead = request.method == .get || request.method == .head
        let principal: Principal
        if request.headers[.authorization] == nil, let sessions,
            let token = ConsoleSessions.token(cookieHeader: request.headers[.cookie])
        {
            guard let session = try await sessions.session(token: token) else {
                throw ClaiflowError(.unauthenticated, "the console session expired or was signed out")
            }
            guard isRead || session.acceptsCSRF(request.headers[.csrfToken]) else {
                throw ClaiflowError(.permissionDenied, "missing or wrong CSRF token: send X-CSRF-Token")
            }
            principal = session.principal
        } else {
            guard let header = request.headers[.authorization], header.count > 7,
                header.prefix(7).lowercased() == "bearer "
            else {
                throw ClaiflowError(.unauthenticated, "missing API key: send Authorization: Bearer <key>")
            }
            let key = Self.trimmed(header.dropFirst(7))
            guard key.utf8.count <= 512, let found = try await authenticator.authenticate(key) else {
                throw ClaiflowError(.unauthenticated, "invalid API key")
            }
            principal = found
        }
        let needed = isRead ? readRole : writeRole
        guard principal.role >= needed else {
            throw ClaiflowError(
                .permissionDenied,
                "the API key \"\(principal.name)\" has role \(principal.role.rawValue); this needs \(needed.rawValue)")
        }
        context.principal = principal
        context.logger[metadataKey: "api_key"] = .string(principal.keyUUID)
        return try await next(request, context)
    }

    /// The key without surrounding whitespace (Foundation's `.whitespaces`); Foundation is asked
    /// only when the key starts or ends with something other than printable ASCII.
    static func trimmed(_ key: Substring) -> String {
        if let first = key.utf8.first, let last = key.utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return String(key)
        }
        return key.trimmingCharacters(in: .whitespaces)
    }
}

extension HTTPField.Name {
    /// The CSRF token of a write made with the console's session cookie.
    static let csrfToken = Self(ConsoleSessions.csrfHeader)!
}
