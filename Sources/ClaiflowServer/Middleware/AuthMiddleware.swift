import ClaiflowCore
import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <key>` with a role high enough: `readRole` for GET/HEAD,
/// `writeRole` for everything else. 401 without a valid key, 403 when the role is too low.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: APIKeyAuthenticator
    let readRole: Role
    let writeRole: Role

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        var context = context
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw ClaiflowError(.unauthenticated, "missing API key: send Authorization: Bearer <key>")
        }
        let key = Self.trimmed(header.dropFirst(7))
        guard key.utf8.count <= 512, let principal = try await authenticator.authenticate(key) else {
            throw ClaiflowError(.unauthenticated, "invalid API key")
        }
        let needed = request.method == .get || request.method == .head ? readRole : writeRole
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
