import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Hummingbird

/// `/api/v1/run…`: fleet runs.
struct RunController {
    let useCases: RunUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("run", use: create)
        group.get("run", use: list)
        group.get("run/{uuid}", use: get)
        group.get("run/{uuid}/result", use: result)
        group.post("run/{uuid}/cancel", use: cancel)
    }

    /// Reads a run create body; every error names its field.
    static func request(_ body: RequestBody) throws(ClaiflowError) -> RunUseCases.CreateRun {
        let name = try body.string("name", required: true, allowEmpty: false) ?? ""
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        var templateUUID: String?
        if let t = try body.string("template_uuid", maxLength: 1000), !t.isEmpty {
            try Identifier.validate(t, field: "template_uuid")
            templateUUID = t
        }
        let flow = try TemplateController.json(body, "flow")
        var inputs: JSONValue?
        if let v = body.json.field("inputs") {
            guard case .object = v else { throw ClaiflowError.invalidField("inputs", "must be an object, got \(v.typeName)") }
            inputs = v
        }
        let target: RunUseCases.Target
        let selectorText = try body.string("selector", maxLength: LabelSelector.maxLength)
        let hasClusters = body.json.field("cluster_uuids") != nil
        switch (selectorText, hasClusters) {
        case (.some, true):
            throw ClaiflowError(.invalidArgument, "give either selector or cluster_uuids, not both")
        case (.none, false):
            throw ClaiflowError.invalidField("selector", "is required (or give cluster_uuids)")
        case (.some(let text), false):
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ClaiflowError.invalidField("selector", "must not be empty; a run names the clusters it targets")
            }
            target = .selector(try LabelSelector(parsing: text))
        case (.none, true):
            guard case .array(let items) = body.json.field("cluster_uuids") else {
                throw ClaiflowError.invalidField("cluster_uuids", "must be an array of strings")
            }
            var ids: [String] = []
            for item in items {
                guard case .string(let s) = item else {
                    throw ClaiflowError.invalidField("cluster_uuids", "must hold strings only")
                }
                try Identifier.validate(s, field: "cluster_uuids")
                ids.append(s)
            }
            guard !ids.isEmpty else { throw ClaiflowError.invalidField("cluster_uuids", "must name at least one cluster") }
            guard ids.count <= RunUseCases.maxClusters else {
                throw ClaiflowError.invalidField("cluster_uuids", "at most \(RunUseCases.maxClusters) clusters per run")
            }
            target = .clusters(ids)
        }
        return RunUseCases.CreateRun(
            uuid: try body.identifier("uuid"), name: name, summary: summary, templateUUID: templateUUID, flow: flow,
            inputs: inputs, target: target, strategy: try RunStrategy(json: body.json.field("strategy")),
            webhook: try body.identifier("webhook"), includePaused: try body.bool("include_paused") ?? false,
            timeout: try ServiceTimeout.parse(body.json.field("timeout")))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let (run, clusters) = try await useCases.create(try Self.request(body))
        context.logger.notice(
            "run created", metadata: ["run_uuid": .string(run.uuid), "clusters": .stringConvertible(clusters.count)])
        return try JSONResponse.make(run.json(clusters: clusters), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.run, unpagedLimit: 20)
        return try JSONResponse.make(try await useCases.list(q).map { $0.json(clusters: nil) }, request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "run")
        let (run, clusters) = try await useCases.detail(uuid: uuid)
        return try JSONResponse.make(run.json(clusters: clusters), request: request)
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "run")
        let reduce = QueryParameters(request)["reduce"]
        return try JSONResponse.make(try await useCases.result(uuid: uuid, reduce: reduce), request: request)
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "run")
        let (run, clusters) = try await useCases.cancel(uuid: uuid)
        context.logger.notice("run cancel", metadata: ["run_uuid": .string(uuid)])
        return try JSONResponse.make(run.json(clusters: clusters), request: request)
    }
}
