import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Hummingbird

/// `/api/v1/service` and `/api/v1/cluster/{uuid}/service…`.
struct ServiceController {
    let useCases: ServiceUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("service", use: createMany)
        group.get("service", use: list)
        // `{uuid}` is the cluster (Hummingbird needs one parameter name per path position).
        group.post("cluster/{uuid}/service", use: createOne)
        group.get("cluster/{uuid}/service/{service_uuid}", use: get)
        group.get("cluster/{uuid}/service/{service_uuid}/result", use: result)
        group.post("cluster/{uuid}/service/{service_uuid}/cancel", use: cancel)
    }

    /// The body fields shared by both create routes.
    static func request(_ body: RequestBody, clusters: [String]) throws(ClaiflowError) -> ServiceUseCases.CreateServices {
        var r = ServiceUseCases.CreateServices(clusterUUIDs: clusters)
        r.uuid = try body.identifier("uuid")
        r.name = try body.string("name")
        r.summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        if let t = try body.string("template_uuid", maxLength: 1000), !t.isEmpty {
            try Identifier.validate(t, field: "template_uuid")
            r.templateUUID = t
        }
        r.flow = try TemplateController.json(body, "flow")
        if let inputs = body.json.field("inputs") {
            guard case .object = inputs else {
                throw ClaiflowError.invalidField("inputs", "must be an object, got \(inputs.typeName)")
            }
            r.inputs = inputs
        }
        if let p = body.json.field("priority") {
            guard case .integer(let n) = p, let priority = ServicePriority(rawValue: Int(n)) else {
                throw ClaiflowError.invalidField("priority", "must be 0 (low), 1 (middle) or 2 (high)")
            }
            r.priority = priority.rawValue
        }
        let webhook = try body.identifier("webhook")
        let channel = try body.identifier("subscribed_channel")
        r.webhook = webhook ?? channel
        r.timeout = try ServiceTimeout.parse(body.json.field("timeout"))
        return r
    }

    /// `cluster_uuids` (array) or `cluster_uuid` (string or array).
    static func clusters(_ body: RequestBody) throws(ClaiflowError) -> [String] {
        let key = body.json.field("cluster_uuids") != nil ? "cluster_uuids" : "cluster_uuid"
        guard let v = body.json.field(key) else { throw ClaiflowError.invalidField("cluster_uuids", "is required") }
        var ids: [String] = []
        switch v {
        case .string(let s): ids = [s]
        case .array(let items):
            for item in items {
                guard case .string(let s) = item else { throw ClaiflowError.invalidField(key, "must hold strings only") }
                ids.append(s)
            }
        default: throw ClaiflowError.invalidField(key, "must be a string or an array of strings, got \(v.typeName)")
        }
        guard !ids.isEmpty else { throw ClaiflowError.invalidField(key, "must name at least one cluster") }
        guard ids.count <= ServiceUseCases.maxClustersPerRequest else {
            throw ClaiflowError.invalidField(key, "at most \(ServiceUseCases.maxClustersPerRequest) clusters per request")
        }
        for id in ids { try Identifier.validate(id, field: key) }
        return ids
    }

    @Sendable func createMany(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let r = try Self.request(body, clusters: try Self.clusters(body))
        let created = try await useCases.createServices(r)
        return try JSONResponse.make(created.map(ServiceWire.init), request: request)
    }

    @Sendable func createOne(_ request: Request, context: AppRequestContext) async throws -> Response {
        let cluster = context.parameters.get("uuid") ?? ""
        guard Identifier.isValid(cluster) else {
            throw ClaiflowError.invalidField("cluster_uuid", "cluster \"\(cluster)\" does not exist")
        }
        let body = try await RequestBody.read(request, context: context)
        let created = try await useCases.createServices(try Self.request(body, clusters: [cluster]))
        guard let one = created.first else { throw ClaiflowError(.internal, "no service created") }
        return try JSONResponse.make(ServiceWire(one), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        var q = try Handlers.listQuery(request, schema: Tables.service, unpagedLimit: 20)
        if let statusText = QueryParameters(request)["status"], !statusText.isEmpty {
            var statuses: [QueryValue] = []
            for part in statusText.split(separator: ",") {
                guard let s = ServiceStatus(text: part.trimmingCharacters(in: .whitespaces)) else {
                    throw ClaiflowError(
                        .invalidArgument,
                        "parameter status: unknown status \"\(part)\"; use regist, sent, processing, succeeded, failed, canceled, expired or their numbers"
                    )
                }
                statuses.append(.integer(Int64(s.rawValue)))
            }
            let filter = Condition.inList(column: "status", values: statuses)
            q.condition = q.condition.map { .and([$0, filter]) } ?? filter
        }
        return try JSONResponse.make(try await useCases.listServices(q).map(ServiceWire.init), request: request)
    }

    static func ids(_ context: AppRequestContext) throws -> (String, String) {
        let cluster = context.parameters.get("uuid") ?? ""
        let uuid = context.parameters.get("service_uuid") ?? ""
        guard Identifier.isValid(cluster), Identifier.isValid(uuid) else {
            throw ClaiflowError(.notFound, "service \"\(uuid)\" not found on cluster \"\(cluster)\"")
        }
        return (cluster, uuid)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (cluster, uuid) = try Self.ids(context)
        return try JSONResponse.make(ServiceWire(try await useCases.service(clusterUUID: cluster, uuid: uuid)), request: request)
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (cluster, uuid) = try Self.ids(context)
        guard let r = try await useCases.service(clusterUUID: cluster, uuid: uuid).result else {
            throw ClaiflowError(.notFound, "service \"\(uuid)\" on cluster \"\(cluster)\" has no result yet")
        }
        return try JSONResponse.make(ResultWire(r), request: request)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (cluster, uuid) = try Self.ids(context)
        let d = try await useCases.cancel(clusterUUID: cluster, uuid: uuid)
        context.logger.notice("service cancel", metadata: ["cluster_uuid": .string(cluster), "service_uuid": .string(uuid)])
        return try JSONResponse.make(ServiceWire(d), request: request)
    }
}
