import ClaiflowCore
import ClaiflowStore
import Hummingbird
import Logging

/// Turns every error into `{"code":N,"message":"…"}`. Errors that are the caller's (4xx) keep
/// their message; server faults are logged with the request id and answered with a generic 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// The routes' methods by path, for 405.
    let allowed: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let e as HTTPError where e.status == .notFound && e.body == nil {
            let (mapped, allow) = Self.noRoute(e, request: request, allowed: allowed)
            var response = JSONResponse.error(mapped)
            if let allow { response.headers[.allow] = allow }
            return response
        } catch {
            return Self.answer(error, request: request, logger: context.logger)
        }
    }

    /// The error body of a request that failed with `error` (not a missing route); server faults
    /// are logged. (Also the agents' long poll's, answered below the middlewares: ``PollChannelHandler``.)
    static func answer(_ error: any Error, request: Request, logger: Logger) -> Response {
        if error is CancellationError {
            // A long poll whose client went away (or the server is stopping): nobody reads this.
            logger.debug(
                "request cancelled", metadata: ["method": .string(request.method.rawValue), "path": .string(request.uri.path)])
            return JSONResponse.error(ClaiflowError(.unavailable, "the request was cancelled"))
        }
        let mapped = Self.map(error, request: request)
        if mapped.kind == .internal || mapped.kind == .unavailable {
            logger.error(
                "request failed",
                metadata: [
                    "error": .string(String(describing: error)), "method": .string(request.method.rawValue),
                    "path": .string(request.uri.path),
                ])
        }
        return JSONResponse.error(mapped)
    }

    /// No route: a path that exists with other methods is 405 (with the `Allow` list), anything else 404.
    static func noRoute(_ e: HTTPError, request: Request, allowed: AllowedMethods) -> (ClaiflowError, allow: String?) {
        let methods = allowed.methods(for: request.uri.path)
        guard !methods.isEmpty else { return (Self.map(e, request: request), nil) }
        let list = methods.sorted().joined(separator: ", ")
        return (
            ClaiflowError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); allowed: \(list)"), list
        )
    }

    static func map(_ error: any Error, request: Request) -> ClaiflowError {
        switch error {
        case let e as ClaiflowError:
            return e
        case let e as HTTPError:
            if e.status == .notFound {
                return ClaiflowError(.notFound, e.body ?? "no route for \(request.method) \(request.uri.path)")
            }
            if e.status == .contentTooLarge {
                return ClaiflowError(.tooLarge, "the request body is larger than \(HTTPLimits.maxBodySize) bytes")
            }
            let kind = ClaiflowError.Kind(httpStatus: e.status) ?? (e.status.code < 500 ? .invalidArgument : .internal)
            return ClaiflowError(kind, e.body ?? e.status.reasonPhrase)
        case is StoreError:
            return ClaiflowError(.internal, "internal error: the database failed; see the server log")
        default:
            return ClaiflowError(.internal, "internal error; see the server log")
        }
    }
}
