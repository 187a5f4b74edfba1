import ClaiflowCore
import ClaiflowGRPC
import ClaiflowStore
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import SwiftProtobuf

/// The original agent's gRPC API (`pkg.server.api.client.ClientService`), a second transport
/// over the same ``AgentUseCases`` as the REST `/api/v1/client/*` routes.
///
/// `ServicePolling_v1` blocks until at least one service is claimed for the caller, the caller
/// goes away, or its cluster token is revoked (`UNAUTHENTICATED`), as the original agent expects.
struct AgentGRPCService: Pkg_Server_Api_Client_ClientService.ServiceProtocol {
    typealias AuthRequest = Pkg_Server_Api_Client_AuthRequest_v1
    typealias AuthResponse = Pkg_Server_Api_Client_AuthResponse_v1
    typealias PollRequest = Pkg_Server_Api_Client_ServicePollingRequest_v1
    typealias PollResponse = Pkg_Server_Api_Client_ServicePollingResponse_v1
    typealias UpdateRequest = Pkg_Server_Api_Client_UpdateServiceStatusRequest_v1
    typealias UpdateResponse = Pkg_Server_Api_Client_UpdateServiceStatusResponse_v1

    /// Response metadata set on `UpdateServiceStatus_v1` when an operator canceled the service.
    static let cancelKey = "x-claiflow-cancel"

    let agents: AgentUseCases
    let logger: Logger

    func auth_v1(request: ServerRequest<AuthRequest>, context: ServerContext) async throws -> ServerResponse<AuthResponse> {
        try await rpc(context) { logger in
            let m = request.message
            let (token, _, claims) = try await agents.authenticate(
                clusterUUID: m.clusterUuid, assertion: m.assertion, clientVersion: m.clientVersion.nonEmpty,
                clientLibVersion: m.clientLibVersion.nonEmpty)
            logger.notice(
                "agent authenticated",
                metadata: [
                    "cluster_uuid": .string(m.clusterUuid), "session_uuid": .string(claims.uuid),
                    "client_version": .string(m.clientVersion),
                ])
            var reply = AuthResponse()
            reply.token = token
            return ServerResponse(message: reply)
        }
    }

    func servicePolling_v1(
        request: ServerRequest<PollRequest>, context: ServerContext
    ) async throws -> ServerResponse<PollResponse> {
        try await rpc(context) { logger in
            let bearer = try Self.bearer(request.metadata)
            // The use case bounds the limit (1 to ``AgentUseCases/maxLimit``).
            let limit = Int(request.message.limit)
            let agents = self.agents
            let session: AgentSession
            let services: [ClaiflowCore.Service]
            do {
                (session, services) = try await Self.untilRPCCancelled {
                    try await Self.awaitWork(agents: agents, bearer: bearer, limit: limit)
                }
            } catch is CancellationError where Task.isShuttingDownGracefully {
                // The transport's graceful shutdown cancels every call: tell the agent to come back.
                throw Self.shuttingDown
            }
            logger.info(
                "services delivered",
                metadata: [
                    "cluster_uuid": .string(session.claims.clusterUUID), "session_uuid": .string(session.claims.uuid),
                    "count": .stringConvertible(services.count),
                ])
            var reply = PollResponse()
            reply.datas = services.map(Self.data)
            return ServerResponse(message: reply)
        }
    }

    func updateServiceStatus_v1(
        request: ServerRequest<UpdateRequest>, context: ServerContext
    ) async throws -> ServerResponse<UpdateResponse> {
        try await rpc(context) { logger in
            let session = try await agents.session(bearer: try Self.bearer(request.metadata))
            let m = request.message
            let input = try AgentUseCases.stepReport(
                sequence: Int64(m.sequence), status: Int64(m.status), result: m.result.nonEmpty, error: m.error.nonEmpty,
                started: m.hasStarted ? try Self.timestamp("started", m.started) : nil,
                ended: m.hasEnded ? try Self.timestamp("ended", m.ended) : nil)
            let cancel = try await agents.report(session, uuid: m.uuid, report: input)
            logger.debug(
                "step reported",
                metadata: [
                    "cluster_uuid": .string(session.claims.clusterUUID), "session_uuid": .string(session.claims.uuid),
                    "service_uuid": .string(m.uuid), "sequence": .stringConvertible(m.sequence),
                    "status": .stringConvertible(m.status),
                ])
            var metadata = Metadata()
            if cancel {
                metadata.addString("true", forKey: Self.cancelKey)
                logger.notice(
                    "agent told to stop a canceled service",
                    metadata: [
                        "cluster_uuid": .string(session.claims.clusterUUID), "session_uuid": .string(session.claims.uuid),
                        "service_uuid": .string(m.uuid),
                    ])
            }
            return ServerResponse(message: UpdateResponse(), metadata: metadata)
        }
    }

    // MARK: Polling

    /// Polls (parking at most ``AgentUseCases/maxWait`` at a time) until services are claimed;
    /// re-checks the session token before each round, so an expired or revoked token ends it.
    static func awaitWork(
        agents: AgentUseCases, bearer: String, limit: Int
    ) async throws -> (AgentSession, [ClaiflowCore.Service]) {
        while true {
            let session = try await agents.session(bearer: bearer)
            let services = try await agents.poll(session, limit: limit, wait: AgentUseCases.maxWait)
            if !services.isEmpty { return (session, services) }
            if Task.isShuttingDownGracefully { throw Self.shuttingDown }
            try Task.checkCancellation()
        }
    }

    static let shuttingDown = ClaiflowError(.unavailable, "the server is shutting down; poll again")

    /// Runs `operation` until it ends or the RPC is cancelled (the client went away or reset the
    /// stream). gRPC signals that through the server context, not by cancelling the handler's task.
    static func untilRPCCancelled<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await operation() }
        return try await withRPCCancellationHandler {
            try await task.valueCancellingWithCaller()
        } onCancelRPC: {
            task.cancel()
        }
    }

    // MARK: Wire mapping

    /// A claimed service as the original's `ServicePollingResponse_v1.Data`.
    static func data(_ s: ClaiflowCore.Service) -> PollResponse.DataMessage {
        var d = PollResponse.DataMessage()
        // The original's `pdate`: the service's creation day (UTC).
        let day: Int64 = 86_400_000_000
        let micros = s.created.microseconds
        d.partitionDate = protobufTimestamp(Timestamp(microseconds: micros - ((micros % day) + day) % day))
        d.clusterUuid = s.clusterUUID
        d.uuid = s.uuid
        d.name = s.name
        d.summary = nullString(s.summary)
        d.created = protobufTimestamp(s.created)
        d.templateUuid = s.templateUUID
        d.flow = s.flow
        d.inputs = Data(s.inputs.utf8)
        d.stepMax = Int32(clamping: s.stepMax)
        d.subscribedChannel = nullString(s.webhook)
        d.priority = Int32(clamping: s.priority)
        return d
    }

    static func nullString(_ value: String?) -> Pkg_Server_Api_Datatype_NullString {
        var n = Pkg_Server_Api_Datatype_NullString()
        n.string = value ?? ""
        n.valid = value != nil
        return n
    }

    static func protobufTimestamp(_ t: Timestamp) -> Google_Protobuf_Timestamp {
        let us = t.microseconds
        let seconds = us >= 0 ? us / 1_000_000 : -((-us + 999_999) / 1_000_000)
        return Google_Protobuf_Timestamp(seconds: seconds, nanos: Int32((us - seconds * 1_000_000) * 1000))
    }

    /// A protobuf Timestamp within its valid range (years 1 to 9999) as a ``Timestamp``.
    static func timestamp(_ field: String, _ t: Google_Protobuf_Timestamp) throws(ClaiflowError) -> Timestamp {
        guard (-62_135_596_800...253_402_300_799).contains(t.seconds), (0..<1_000_000_000).contains(t.nanos) else {
            throw ClaiflowError.invalidField(field, "must be a timestamp from year 1 to 9999")
        }
        return Timestamp(microseconds: t.seconds * 1_000_000 + Int64(t.nanos / 1000))
    }

    // MARK: Errors and metadata

    /// The session token from metadata: `authorization: <scheme> <token>`, or the legacy
    /// `x-sudory-client-token`; when a key repeats, the last value counts.
    static func bearer(_ metadata: Metadata) throws(ClaiflowError) -> String {
        try AgentUseCases.sessionToken(
            authorization: Array(metadata[stringValues: "authorization"]).last,
            legacy: Array(metadata[stringValues: "x-sudory-client-token"]).last)
    }

    /// Runs a handler with a logger that names the RPC and peer, and turns its errors into gRPC
    /// statuses: the caller's mistakes keep their message; server faults are logged and answered
    /// with a generic `INTERNAL`.
    func rpc<T>(_ context: ServerContext, _ body: (Logger) async throws -> T) async throws -> T {
        var logger = self.logger
        logger[metadataKey: "grpc_method"] = .string(context.descriptor.method)
        logger[metadataKey: "peer"] = .string(context.remotePeer)
        do {
            return try await body(logger)
        } catch {
            let status = Self.rpcError(error)
            switch status.code {
            case .internalError:
                logger.error("rpc failed", metadata: ["error": .string(String(describing: error))])
            case .cancelled:
                logger.debug("rpc cancelled by the client")
            default:
                // The caller's mistake (or a revoked token): worth a line when an agent misbehaves.
                logger.info(
                    "rpc refused", metadata: ["code": .string(status.code.description), "message": .string(status.message)])
            }
            throw status
        }
    }

    /// The gRPC status of an error, with the codes the original agent reacts to
    /// (`INVALID_ARGUMENT` from `Auth_v1`, `UNAUTHENTICATED` from the others).
    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let e as RPCError:
            return e
        case let e as ClaiflowError:
            let code: RPCError.Code =
                switch e.kind {
                case .invalidArgument, .unsupportedMediaType: .invalidArgument
                case .unauthenticated: .unauthenticated
                case .permissionDenied: .permissionDenied
                case .notFound: .notFound
                case .methodNotAllowed: .unimplemented
                case .conflict: .failedPrecondition
                case .tooLarge: .resourceExhausted
                case .unavailable: .unavailable
                case .internal: .internalError
                }
            return RPCError(code: code, message: e.kind == .internal ? "internal error; see the server log" : e.message)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        case is StoreError:
            return RPCError(code: .internalError, message: "internal error: the database failed; see the server log")
        default:
            return RPCError(code: .internalError, message: "internal error; see the server log")
        }
    }
}

extension String {
    /// nil for the empty string (proto3 cannot tell an absent string from an empty one).
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
