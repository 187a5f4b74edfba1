import ClaiflowCore
import HTTPTypes
import Hummingbird
import Logging

/// Failed console requests answer an HTML page in the layout instead of the API's JSON: any
/// path under `/ui/` but its static files. The status is kept (404 an unknown page or object,
/// 403 a role or a CSRF token, 400 a bad query, 405 another method), the message is the
/// caller's to read, and a server fault shows no internals (it is logged with its request id).
/// A GET of an unknown page without a session still goes to `/ui/login`.
struct ConsoleErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let pages: ConsolePages
    let sessions: ConsoleSessions
    /// The routes' methods by path, for 405.
    let allowed: AllowedMethods

    /// Whether a path is a console page (not a static file, not the API).
    static func covers(_ path: String) -> Bool {
        (path == "/ui" || path.hasPrefix("/ui/")) && !path.hasPrefix("/ui/static/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        guard Self.covers(request.uri.path) else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            var context = context
            if context.consoleSession == nil, let token = ConsoleSessions.token(cookieHeader: request.headers[.cookie]) {
                context.consoleSession = try? await sessions.session(token: token)
            }
            var mapped: ClaiflowError
            var allow: String?
            if let e = error as? HTTPError, e.status == .notFound, e.body == nil {
                if context.consoleSession == nil, request.method == .get || request.method == .head {
                    return Response(status: .seeOther, headers: [.location: "/ui/login"])
                }
                (mapped, allow) = ErrorMiddleware.noRoute(e, request: request, allowed: allowed)
            } else {
                mapped = ErrorMiddleware.map(error, request: request)
            }
            let status = mapped.kind.httpStatus
            if status.code >= 500 {
                context.logger.error(
                    "console request failed",
                    metadata: [
                        "error": .string(String(describing: error)), "method": .string(request.method.rawValue),
                        "path": .string(request.uri.path),
                    ])
                mapped = ClaiflowError(
                    mapped.kind,
                    "Something went wrong on the server. It was logged with the request id \(context.requestID).")
            }
            var response = pages.page(
                "error", title: Self.title(status), context: context,
                ["message": mapped.message, "code": Int(status.code), "back": Self.back(request.uri.path, context: context)],
                status: status)
            if let allow { response.headers[.allow] = allow }
            return response
        }
    }

    static func title(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "Bad request"
        case 401: "Sign in first"
        case 403: "Not allowed"
        case 404: "Not found"
        case 405: "Method not allowed"
        default: status.code >= 500 ? "Server error" : status.reasonPhrase
        }
    }

    /// Where the page's link leads back to: the list of the section it failed in, the overview,
    /// or the sign-in page without a session.
    static func back(_ path: String, context: Context) -> [String: String] {
        guard context.consoleSession != nil else { return ["href": "/ui/login", "text": "Sign in"] }
        let section = path.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        let sections = ["clusters": "Clusters", "templates": "Templates", "services": "Services", "runs": "Runs"]
        if let name = sections[section] { return ["href": "/ui/\(section)", "text": "Back to \(name)"] }
        return ["href": "/ui/", "text": "Back to the overview"]
    }
}
