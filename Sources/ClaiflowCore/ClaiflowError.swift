/// The error every layer throws when a request cannot be served. Its kind says what went wrong;
/// each transport maps the kind to its own status at its edge (HTTP: `{"code": N, "message": "…"}`
/// with the HTTP status as `code`; gRPC: a status code with the message).
public struct ClaiflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, by meaning.
    public enum Kind: Sendable, Hashable, CaseIterable {
        /// The input is invalid (a field, a parameter, a document).
        case invalidArgument
        /// The caller is not (or no longer) authenticated.
        case unauthenticated
        /// The caller is authenticated but may not do this.
        case permissionDenied
        /// What the request names does not exist.
        case notFound
        /// The operation does not exist for this resource (an HTTP method a path does not serve).
        case methodNotAllowed
        /// The request conflicts with the current state (an id already used, a finished service).
        case conflict
        /// The input is larger than allowed.
        case tooLarge
        /// The input's media type is not one the operation reads.
        case unsupportedMediaType
        /// The server failed.
        case `internal`
        /// The server cannot serve the request now (shutting down, cancelled); try again.
        case unavailable
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

    public var description: String { "\(kind): \(message)" }

    /// An invalid field: `field "name": must not be empty`.
    public static func invalidField(_ field: String, _ reason: String) -> ClaiflowError {
        ClaiflowError(.invalidArgument, "field \"\(field)\": \(reason)")
    }
    /// A missing entity: `cluster "abc" not found`.
    public static func notFound(_ entity: String, _ id: String) -> ClaiflowError {
        ClaiflowError(.notFound, "\(entity) \"\(id)\" not found")
    }
}
