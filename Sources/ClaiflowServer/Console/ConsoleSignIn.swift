import ClaiflowCore
import Foundation
import HTTPTypes
import Hummingbird

/// The console's own authentication: the session cookie on every page (a page without one
/// sends the browser to `/ui/login`), the CSRF token on every form (`_csrf`, 403 without it),
/// and the operator role for every write.
struct ConsoleAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessions: ConsoleSessions
    let broadcaster: EventBroadcaster

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        guard let token = ConsoleSessions.token(cookieHeader: request.headers[.cookie]),
            let session = try await sessions.session(token: token)
        else {
            if request.method == .get || request.method == .head {
                return Response(status: .seeOther, headers: [.location: "/ui/login"])
            }
            throw ClaiflowError(.unauthenticated, "sign in first: /ui/login")
        }
        var context = context
        // Taken before the page reads anything: its live updates start from here.
        context.eventsSince = broadcaster.latestID
        context.principal = session.principal
        context.consoleSession = session
        return try await next(request, context)
    }
}

extension AppRequestContext {
    /// The signed-in console session, checked for a form's CSRF token and role.
    func formSession(_ form: FormData, role: Role = .operator) throws -> ConsoleSession {
        guard let session = consoleSession else { throw ClaiflowError(.unauthenticated, "sign in first: /ui/login") }
        guard session.acceptsCSRF(form[ConsoleSessions.csrfField]) else {
            throw ClaiflowError(.permissionDenied, "missing or wrong CSRF token: reload the page and try again")
        }
        guard session.role >= role else {
            throw ClaiflowError(
                .permissionDenied,
                "the API key \"\(session.keyName)\" has role \(session.role.rawValue); this needs \(role.rawValue)")
        }
        return session
    }
}

/// The session cookie's header values.
enum SessionCookie {
    /// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Path=/, Secure when `secure`.
    static func set(_ token: String, maxAge: Int64, secure: Bool) -> String {
        "\(ConsoleSessions.cookieName)=\(token); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// `Set-Cookie` that removes the session cookie.
    static func clear(secure: Bool) -> String {
        "\(ConsoleSessions.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// Whether the request came over TLS (as a proxy in front says) or the setting asks for Secure.
    static func secure(_ request: Request, always: Bool) -> Bool {
        always || request.headers[.xForwardedProto]?.lowercased() == "https" || request.head.scheme == "https"
    }
}

extension HTTPField.Name {
    /// The scheme a TLS-terminating proxy received the request with.
    static let xForwardedProto = Self("X-Forwarded-Proto")!
}
