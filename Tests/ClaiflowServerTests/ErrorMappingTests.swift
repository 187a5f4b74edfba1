import ClaiflowCore
import GRPCCore
import HTTPTypes
import Testing

@testable import ClaiflowServer

/// The error kinds are named by meaning; each transport maps them to its status at its edge.
@Suite("Error kinds at the edges")
struct ErrorMappingTests {
    /// Every kind with its HTTP status and gRPC code.
    static let table: [(kind: ClaiflowError.Kind, http: Int, grpc: RPCError.Code)] = [
        (.invalidArgument, 400, .invalidArgument), (.unauthenticated, 401, .unauthenticated),
        (.permissionDenied, 403, .permissionDenied), (.notFound, 404, .notFound), (.methodNotAllowed, 405, .unimplemented),
        (.conflict, 409, .failedPrecondition), (.tooLarge, 413, .resourceExhausted),
        (.unsupportedMediaType, 415, .invalidArgument), (.internal, 500, .internalError), (.unavailable, 503, .unavailable),
    ]

    @Test("the table names every kind once")
    func complete() {
        #expect(Set(Self.table.map(\.kind)) == Set(ClaiflowError.Kind.allCases))
        #expect(Self.table.count == ClaiflowError.Kind.allCases.count)
    }

    @Test("HTTP: each kind has its status (the response's, and back)", arguments: table.indices)
    func http(row: Int) {
        let (kind, code, _) = Self.table[row]
        #expect(kind.httpStatus.code == code)
        #expect(ClaiflowError.Kind(httpStatus: .init(code: code)) == kind)
        #expect(JSONResponse.error(ClaiflowError(kind, "why")).status.code == code)
    }

    @Test("HTTP: a status no kind has maps to none")
    func unknownStatus() {
        #expect(ClaiflowError.Kind(httpStatus: .init(code: 418)) == nil)
        #expect(ClaiflowError.Kind(httpStatus: .badGateway) == nil)
    }

    @Test("gRPC: each kind has its code; the message is kept except for internal errors", arguments: table.indices)
    func grpc(row: Int) {
        let (kind, _, code) = Self.table[row]
        let status = AgentGRPCService.rpcError(ClaiflowError(kind, "the reason"))
        #expect(status.code == code)
        #expect(status.message == (kind == .internal ? "internal error; see the server log" : "the reason"))
    }
}
