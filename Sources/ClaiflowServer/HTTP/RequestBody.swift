import ClaiflowCore
import Hummingbird
import NIOCore

/// A JSON request body read leniently like the original (Go) server — unknown keys ignored,
/// keys matched case-insensitively, `null` meaning absent — and strictly where it matters:
/// every type error, missing field or oversize value is a 400 that names the field.
struct RequestBody {
    let json: JSONValue

    /// Reads the body: at most ``HTTPLimits/maxBodySize`` bytes (413 above), empty means `{}`,
    /// otherwise `Content-Type: application/json` and a JSON object.
    static func read(
        _ request: Request, context: AppRequestContext, limit: Int = HTTPLimits.maxBodySize
    ) async throws
        -> RequestBody
    {
        let buffer = try await bytes(request, limit: limit)
        if buffer.readableBytes == 0 { return RequestBody(json: .object([:])) }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw ClaiflowError(.invalidArgument, "the request body must be JSON with Content-Type: application/json")
        }
        let json = try JSONValue.parse(buffer.readableBytesView)
        guard case .object = json else {
            throw ClaiflowError(.invalidArgument, "the request body must be a JSON object, got \(json.typeName)")
        }
        return RequestBody(json: json)
    }

    /// The raw body, at most `limit` bytes: every handler reads its body through this (or
    /// ``read(_:context:limit:)``), so a body over the limit is always a `413` (and the
    /// connection is closed after it, the rest of the body unread).
    ///
    /// - Throws: ``ClaiflowError`` `.tooLarge` above `limit`; the connection's errors as they are.
    static func bytes(_ request: Request, limit: Int = HTTPLimits.maxBodySize) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ClaiflowError(.tooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    /// Whether any of the keys is present (and not null).
    func hasAny(_ keys: [String]) -> Bool { keys.contains { json.field($0) != nil } }

    /// A string field. `required` fields must be present; `allowEmpty: false` rejects `""`; a
    /// NUL character is refused (``TextField``) unless `allowNUL` (an agent's report text, which
    /// the store keeps losslessly), so no store ever sees one in operator text.
    func string(
        _ key: String, required: Bool = false, allowEmpty: Bool = true, maxLength: Int = HTTPLimits.maxNameLength,
        allowNUL: Bool = false
    )
        throws(ClaiflowError) -> String?
    {
        guard let v = json.field(key) else {
            if required { throw ClaiflowError.invalidField(key, "is required") }
            return nil
        }
        guard case .string(let s) = v else { throw ClaiflowError.invalidField(key, "must be a string, got \(v.typeName)") }
        if !allowEmpty, s.isEmpty { throw ClaiflowError.invalidField(key, "must not be empty") }
        if !allowNUL { try TextField.check(s, field: key) }
        if s.count > maxLength {
            throw ClaiflowError.invalidField(key, "must be at most \(maxLength) characters, got \(s.count)")
        }
        return s
    }

    /// An identifier field (1–32 characters of `[A-Za-z0-9_-]`).
    func identifier(_ key: String, required: Bool = false) throws(ClaiflowError) -> String? {
        guard let s = try string(key, required: required, maxLength: 1000) else { return nil }
        try Identifier.validate(s, field: key)
        return s
    }

    /// An RFC 3339 timestamp field.
    func timestamp(_ key: String) throws(ClaiflowError) -> Timestamp? {
        guard let s = try string(key, maxLength: 64) else { return nil }
        guard let t = Timestamp(parsing: s) else {
            throw ClaiflowError.invalidField(key, "must be an RFC 3339 timestamp like 2025-01-31T12:00:00Z, got \"\(s)\"")
        }
        return t
    }
}
