import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/cluster` and the session-alive routes.
struct ClusterController {
    let useCases: OperatorUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("cluster", use: create)
        group.get("cluster", use: list)
        group.get("cluster/{uuid}", use: get)
        group.put("cluster/{uuid}", use: update)
        group.delete("cluster/{uuid}", use: delete)
        // Hummingbird needs one parameter name per path position: `{uuid}` is the cluster here.
        group.get("cluster/{uuid}/session/alive", use: alive)
        group.get("session/cluster/{cluster_uuid}/alive", use: alive)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let uuid = try body.identifier("uuid")
        let name = try body.string("name", required: true, allowEmpty: false) ?? ""
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        let labels = try body.labels("labels") ?? ClusterLabels()
        let paused = try body.bool("paused") ?? false
        let c = try await useCases.createCluster(uuid: uuid, name: name, summary: summary, labels: labels, paused: paused)
        return try JSONResponse.make(ClusterWire(c), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.cluster)
        let selector = try QueryParameters(request)["selector"].map { text throws(ClaiflowError) in
            try LabelSelector(parsing: text)
        }
        return try JSONResponse.make(
            try await useCases.clusters(q, selector: selector).map(ClusterWire.init), request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster")
        return try JSONResponse.make(ClusterWire(try await useCases.cluster(uuid: uuid)), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster")
        let body = try await RequestBody.read(request, context: context)
        let name = try body.string("name", allowEmpty: false)
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        let changes = ClusterChanges(
            name: name, summary: summary, labels: try body.labels("labels"), paused: try body.bool("paused"))
        let c = try await useCases.updateCluster(uuid: uuid, changes: changes)
        return try JSONResponse.make(ClusterWire(c), request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster")
        try await useCases.deleteCluster(uuid: uuid)
        return try JSONResponse.ok(request)
    }

    @Sendable func alive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let clusterUUID = context.parameters.get("cluster_uuid") ?? context.parameters.get("uuid") ?? ""
        guard Identifier.isValid(clusterUUID) else {
            return try JSONResponse.make(AliveWire(alive: false, clientVersion: nil, clientLibVersion: nil), request: request)
        }
        let (alive, session) = try await useCases.alive(clusterUUID: clusterUUID)
        let version = session?.clientVersion.flatMap { $0.isEmpty ? nil : $0 }
        let lib = session?.clientLibVersion.flatMap { $0.isEmpty ? nil : $0 }
        return try JSONResponse.make(AliveWire(alive: alive, clientVersion: version, clientLibVersion: lib), request: request)
    }
}
