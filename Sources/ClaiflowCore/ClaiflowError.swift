/// The error every layer throws when a request cannot be served; the HTTP layer renders it as
/// `{"code": N, "message": "…"}` with `code` as the HTTP status.
public struct ClaiflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, which decides the HTTP status.
    public enum Kind: Int, Sendable {
        case badRequest = 400
        case unauthorized = 401
        case forbidden = 403
        case notFound = 404
        case methodNotAllowed = 405
        case conflict = 409
        case payloadTooLarge = 413
        case unsupportedMediaType = 415
        case `internal` = 500
        case unavailable = 503
    }

    /// The kind of failure.
    public var kind: Kind
    /// A message that tells the caller what is wrong (field, value, reason).
    public var message: String

    /// Creates an error of a kind with a message.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The HTTP status code.
    public var code: Int { kind.rawValue }
    public var description: String { "\(code): \(message)" }

    /// 400 for an invalid field: `field "name": must not be empty`.
    public static func invalidField(_ field: String, _ reason: String) -> ClaiflowError {
        ClaiflowError(.badRequest, "field \"\(field)\": \(reason)")
    }
    /// 404 for a missing entity: `cluster "abc" not found`.
    public static func notFound(_ entity: String, _ id: String) -> ClaiflowError {
        ClaiflowError(.notFound, "\(entity) \"\(id)\" not found")
    }
}
