import ClaiflowCore
import ClaiflowStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The agent API over REST (`/api/v1/client/*`), wire-compatible with the original's.
struct AgentController {
    let agents: AgentUseCases

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/client")
        group.post("auth", use: auth)
        group.get("service", use: poll)
        group.put("service", use: report)
        group.post("service/cancellations", use: cancellations)
    }

    /// The session token: `x-sudory-client-token`, overridden by `Authorization: <scheme> <token>`.
    static func bearer(_ request: Request) throws -> String {
        try AgentUseCases.sessionToken(
            authorization: request.headers[.authorization], legacy: request.headers[.xSudoryClientToken])
    }

    struct AuthReply: Encodable {
        let token_type: String
        let access_token: String
        let expires_in: Int64?
        /// `ClientSession/ExpirationTime` in seconds: the agent must be heard from more often.
        let session_expiration: Int64
    }

    @Sendable func auth(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        // The limits of the texts are the use case's (the same over gRPC).
        let cluster = try body.string("cluster_uuid", required: true, maxLength: .max) ?? ""
        let assertion = try body.string("assertion", required: true, maxLength: .max) ?? ""
        let version = try body.string("client_version", maxLength: .max)
        let lib = try body.string("client_lib_version", maxLength: .max)
        let (token, expiresIn, claims) = try await agents.authenticate(
            clusterUUID: cluster, assertion: assertion, clientVersion: version, clientLibVersion: lib)
        context.logger.notice(
            "agent authenticated",
            metadata: [
                "cluster_uuid": .string(cluster), "session_uuid": .string(claims.uuid),
                "client_version": .string(version ?? ""),
            ])
        var response = try JSONResponse.make(
            AuthReply(
                token_type: "Bearer", access_token: token, expires_in: expiresIn > 0 ? expiresIn : nil,
                session_expiration: max(1, agents.sessionWindow.nanoseconds / 1_000_000_000)),
            request: request)
        response.headers[.xSudoryClientToken] = token
        return response
    }

    /// A polled service, as the original's REST poll returns it, plus `timeout` when the
    /// service has one (a Go duration such as `10m`; agents written for the original ignore it).
    struct PolledService: Encodable {
        let cluster_uuid: String
        let uuid: String
        let name: String
        let summary: String?
        let template_uuid: String
        let flow: String
        let inputs: JSONValue
        let step_max: Int
        let subscribed_channel: String?
        let priority: Int
        let created: Timestamp
        let timeout: String?

        init(_ s: Service) {
            cluster_uuid = s.clusterUUID
            uuid = s.uuid
            name = s.name
            summary = s.summary
            template_uuid = s.templateUUID
            flow = s.flow
            inputs = (try? JSONValue.parse(s.inputs)) ?? .null
            step_max = s.stepMax
            subscribed_channel = s.webhook
            priority = s.priority
            created = s.created
            timeout = s.timeout?.description
        }

        func encode(to encoder: Encoder) throws {
            enum K: String, CodingKey {
                case cluster_uuid, uuid, name, summary, template_uuid, flow, inputs, step_max, subscribed_channel, priority,
                    created, timeout
            }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(cluster_uuid, forKey: .cluster_uuid)
            try c.encode(uuid, forKey: .uuid)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(summary, forKey: .summary)
            try c.encode(template_uuid, forKey: .template_uuid)
            try c.encode(flow, forKey: .flow)
            try c.encode(inputs, forKey: .inputs)
            try c.encode(step_max, forKey: .step_max)
            try c.encodeIfPresent(subscribed_channel, forKey: .subscribed_channel)
            try c.encode(priority, forKey: .priority)
            try c.encode(created, forKey: .created)
            try c.encodeIfPresent(timeout, forKey: .timeout)
        }
    }

    /// `GET /api/v1/client/service?limit=N&wait=S`. Over a server's HTTP/1.1 connections this
    /// route is answered below the middlewares by ``PollChannelHandler`` (same behaviour, no
    /// suspended responder chain while parked); this handler answers the polls it passes on.
    @Sendable func poll(_ request: Request, context: AppRequestContext) async throws -> Response {
        let session = try await agents.session(bearer: try Self.bearer(request))
        let params = QueryParameters(request)
        let (limit, wait) = try Self.pollParameters(limit: params["limit"], wait: params["wait"])
        let agents = self.agents
        let services = try await ClientGoneHandler.untilClientGone(context.channel) {
            try await agents.poll(session, limit: limit, wait: wait)
        }
        return try Self.delivered(services, session: session, logger: context.logger, pretty: params.has("pretty"))
    }

    /// A poll's `limit` (default 1; the use case bounds it) and `wait` (``wait(_:)``) parameters.
    static func pollParameters(limit: String?, wait: String?) throws(ClaiflowError) -> (limit: Int, wait: Duration) {
        (limit.flatMap(Int.init) ?? 1, try Self.wait(wait))
    }

    /// The answer to a poll that returned `services`.
    static func delivered(
        _ services: [ClaiflowCore.Service], session: AgentSession, logger: Logger, pretty: Bool
    ) throws -> Response {
        if !services.isEmpty {
            logger.info(
                "services delivered",
                metadata: [
                    "cluster_uuid": .string(session.claims.clusterUUID), "session_uuid": .string(session.claims.uuid),
                    "count": .stringConvertible(services.count),
                ])
        }
        return try JSONResponse.make(services.map(PolledService.init), pretty: pretty)
    }

    /// `POST /api/v1/client/service/cancellations?wait=S` with `{"uuids": [...]}` (the services
    /// the agent runs) → `{"canceled": [...]}`: those an operator asked to cancel, at once or
    /// as soon as a cancel is requested on the cluster within the wait (new: a claiflow agent's
    /// way to stop a running step within a second; the original agent never calls it).
    @Sendable func cancellations(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let session = try await agents.session(bearer: try Self.bearer(request))
        guard case .array(let items)? = body.json.field("uuids") else {
            throw ClaiflowError.invalidField("uuids", "is required: an array of service uuids")
        }
        var uuids: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let uuid) = item else { throw ClaiflowError.invalidField("uuids[\(i)]", "must be a string") }
            uuids.append(uuid)
        }
        let wait = try Self.wait(QueryParameters(request)["wait"])
        let (agents, watched) = (self.agents, uuids)
        let canceled = try await ClientGoneHandler.untilClientGone(context.channel) {
            try await agents.cancellations(session, uuids: watched, wait: wait)
        }
        return try JSONResponse.make(CancellationsReply(canceled: canceled), request: request)
    }

    struct CancellationsReply: Encodable {
        let canceled: [String]
    }

    /// The `wait` parameter of a poll or a cancellation watch (default 30 s, at most 60).
    static func wait(_ text: String?) throws(ClaiflowError) -> Duration {
        guard let text else { return AgentUseCases.defaultWait }
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else {
            throw ClaiflowError(.invalidArgument, "parameter wait: must be a number of seconds from 0 to 60")
        }
        return .milliseconds(Int64(min(seconds, 60) * 1000))
    }

    @Sendable func report(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context, limit: HTTPLimits.maxReportSize)
        let session = try await agents.session(bearer: try Self.bearer(request))
        let uuid = try body.string("uuid", required: true, maxLength: .max) ?? ""
        func integer(_ key: String) -> Int64? {
            if case .integer(let i) = body.json.field(key) ?? .null { return i }
            return nil
        }
        let input = try AgentUseCases.stepReport(
            sequence: integer("sequence"), status: integer("status"),
            result: try body.string("result", maxLength: .max, allowNUL: true),
            error: try body.string("error", maxLength: .max, allowNUL: true),
            started: try body.timestamp("started"), ended: try body.timestamp("ended"))
        let cancel = try await agents.report(session, uuid: uuid, report: input)
        var response = try JSONResponse.ok(request)
        if cancel {
            response.headers[.claiflowCancel] = "true"
            context.logger.notice(
                "agent told to stop a canceled service",
                metadata: ["cluster_uuid": .string(session.claims.clusterUUID), "service_uuid": .string(uuid)])
        }
        return response
    }
}

extension HTTPField.Name {
    static let xSudoryClientToken = Self("x-sudory-client-token")!
    /// Set on a report's response when an operator canceled the service: the agent should stop it.
    static let claiflowCancel = Self("X-Claiflow-Cancel")!
}
