import ClaiflowCore
import HTTPTypes

extension ClaiflowError.Kind {
    /// The HTTP status of an error of this kind (also the `code` of the error body).
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidArgument: .badRequest
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .internal: .internalServerError
        case .unavailable: .serviceUnavailable
        }
    }

    /// The kind whose HTTP status this is; nil for a status no kind maps to.
    init?(httpStatus: HTTPResponse.Status) {
        guard let kind = Self.allCases.first(where: { $0.httpStatus.code == httpStatus.code }) else { return nil }
        self = kind
    }
}
