import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/cluster_token`.
struct ClusterTokenController {
    let useCases: OperatorUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("cluster_token", use: create)
        group.get("cluster_token", use: list)
        group.get("cluster_token/{uuid}", use: get)
        group.put("cluster_token/{uuid}", use: update)
        group.put("cluster_token/{uuid}/refresh", use: refresh)
        group.put("cluster_token/{uuid}/expire", use: expire)
        group.delete("cluster_token/{uuid}", use: delete)
    }

    /// A supplied secret: 16–255 printable ASCII characters, so that it is hard to guess.
    static func secret(_ body: RequestBody) throws -> String? {
        guard let s = try body.string("token", allowEmpty: false) else { return nil }
        guard s.utf8.count >= 16 else { throw ClaiflowError.invalidField("token", "must be at least 16 characters") }
        guard s.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw ClaiflowError.invalidField("token", "must be printable ASCII without spaces")
        }
        return s
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let uuid = try body.identifier("uuid")
        let name = try body.string("name", required: true, allowEmpty: false) ?? ""
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        let clusterUUID = try body.identifier("cluster_uuid", required: true) ?? ""
        let secret = try Self.secret(body)
        let (t, plain) = try await useCases.createClusterToken(
            uuid: uuid, name: name, summary: summary, clusterUUID: clusterUUID, secret: secret)
        return try JSONResponse.make(ClusterTokenWire(t, secret: plain), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.clusterToken)
        return try JSONResponse.make(try await useCases.clusterTokens(q).map { ClusterTokenWire($0) }, request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster token")
        return try JSONResponse.make(ClusterTokenWire(try await useCases.clusterToken(uuid: uuid)), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster token")
        let body = try await RequestBody.read(request, context: context)
        let name = try body.string("name", allowEmpty: false)
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        let secret = try Self.secret(body)
        let issued = try body.timestamp("issued_at_time")
        let expires = try body.timestamp("expiration_time")
        let t = try await useCases.updateClusterToken(
            uuid: uuid, name: name, summary: summary, secret: secret, issuedAt: issued, expiresAt: expires)
        return try JSONResponse.make(ClusterTokenWire(t, secret: secret), request: request)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster token")
        return try JSONResponse.make(ClusterTokenWire(try await useCases.refreshClusterToken(uuid: uuid)), request: request)
    }

    @Sendable func expire(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster token")
        return try JSONResponse.make(ClusterTokenWire(try await useCases.expireClusterToken(uuid: uuid)), request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster token")
        try await useCases.deleteClusterToken(uuid: uuid)
        return try JSONResponse.ok(request)
    }
}
