import HTTPTypes
import Hummingbird
import Logging

/// Echoes a sane `X-Request-Id` or generates one, and puts it into the request's log metadata.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        var context = context
        let id = Self.requestID(request.headers[.xRequestID], generated: context.id)
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        context.logger[metadataKey: "hb.request.id"] = nil
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        return response
    }
}

extension RequestIDMiddleware {
    /// The request's id: its sane `X-Request-Id` (1 to 128 printable ASCII), or `generated`.
    /// (Also the agents' long poll's, answered below the middlewares: ``PollChannelHandler``.)
    static func requestID(_ header: String?, generated: @autoclosure () -> String) -> String {
        guard let id = header, !id.isEmpty, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return generated()
        }
        return id
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
}
