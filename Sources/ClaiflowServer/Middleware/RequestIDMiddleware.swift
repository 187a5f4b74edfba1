import HTTPTypes
import Hummingbird
import Logging

/// Echoes a sane `X-Request-Id` or generates one, and puts it into the request's log metadata.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        var context = context
        var id = request.headers[.xRequestID] ?? ""
        if id.isEmpty || id.utf8.count > 128 || !id.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) {
            id = context.id
        }
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        context.logger[metadataKey: "hb.request.id"] = nil
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        return response
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
}
