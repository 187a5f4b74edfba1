import ClaiflowCore
import Foundation
import Hummingbird

/// Builds JSON responses the way the original server does: status 200, compact JSON followed by
/// a newline (`?pretty` indents), `Content-Type: application/json; charset=UTF-8`.
enum JSONResponse {
    /// Compact output, byte for byte Foundation's with `[.withoutEscapingSlashes, .sortedKeys]`.
    static let compact = CompactJSONEncoder()
    static let pretty: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .prettyPrinted, .sortedKeys]
        return e
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, request: Request?) throws -> Response {
        try make(value, status: status, pretty: request.map { QueryParameters($0).has("pretty") } ?? false)
    }

    /// ``make(_:status:request:)`` for a request whose query did (`pretty`) or did not ask `?pretty`.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, pretty prettyRequested: Bool) throws -> Response
    {
        var bytes = prettyRequested ? Array(try pretty.encode(value)) : try compact.encode(value)
        bytes.append(0x0A)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A value that writes its own JSON (``JSONWritable``): the same bytes, without the encoder's tree.
    static func make(_ value: some JSONWritable, status: HTTPResponse.Status = .ok, request: Request?) throws -> Response {
        var bytes: [UInt8] = []
        if let request, QueryParameters(request).has("pretty") {
            bytes = Array(try pretty.encode(value))
        } else {
            bytes.reserveCapacity(1024)
            try value.writeJSON(into: &bytes)
        }
        bytes.append(0x0A)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The `"OK"` body of deletes.
    static func ok(_ request: Request) throws -> Response { try make("OK", request: request) }

    /// An error body `{"code":N,"message":"…"}`, `N` being the HTTP status of the error's kind.
    /// A `413` also says `Connection: close`: the rest of its body is never read, so the
    /// connection ends after the response (see ``ConnectionGuard``).
    static func error(_ e: ClaiflowError) -> Response {
        let status = e.kind.httpStatus
        var text = "{\"code\":\(status.code),\"message\":"
        JSONValue.writeString(e.message, into: &text)
        text += "}\n"
        var headers: HTTPFields = [.contentType: "application/json; charset=UTF-8"]
        if status == .contentTooLarge { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
