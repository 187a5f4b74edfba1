import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/template` (new: the original needed raw SQL to manage templates).
struct TemplateController {
    let useCases: ServiceUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("template", use: create)
        group.get("template", use: list)
        group.get("template/{uuid}", use: get)
        group.put("template/{uuid}", use: update)
        group.delete("template/{uuid}", use: delete)
    }

    /// `flow` or `inputs` given as JSON, or as a string holding JSON (the original stored text).
    static func json(_ body: RequestBody, _ key: String) throws(ClaiflowError) -> JSONValue? {
        guard let v = body.json.field(key) else { return nil }
        if case .string(let text) = v {
            do {
                return try JSONValue.parse(text)
            } catch {
                throw ClaiflowError.invalidField(key, "the string is not JSON: \(error.message)")
            }
        }
        return v
    }

    static func origin(_ body: RequestBody) throws(ClaiflowError) -> String? {
        guard let o = try body.string("origin", allowEmpty: false, maxLength: 64) else { return nil }
        guard o.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw ClaiflowError.invalidField("origin", "must be a word such as userdefined, predefined or system")
        }
        return o
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let uuid = try body.identifier("uuid")
        let name = try body.string("name", required: true, allowEmpty: false) ?? ""
        let summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        guard let flow = try Self.json(body, "flow") else { throw ClaiflowError.invalidField("flow", "is required") }
        let inputs = try Self.json(body, "inputs") ?? .object([:])
        let origin = try Self.origin(body) ?? "userdefined"
        let t = try await useCases.createTemplate(
            uuid: uuid, name: name, summary: summary, flow: flow, inputs: inputs, origin: origin)
        return try JSONResponse.make(TemplateWire(t, info: useCases.flowInfo(of: t)), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.template)
        let templates = try await useCases.templates(q)
        return try JSONResponse.make(templates.map { TemplateWire($0, info: useCases.flowInfo(of: $0)) }, request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "template")
        let t = try await useCases.template(uuid: uuid)
        return try JSONResponse.make(TemplateWire(t, info: useCases.flowInfo(of: t)), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "template")
        let body = try await RequestBody.read(request, context: context)
        let t = try await useCases.updateTemplate(
            uuid: uuid, name: try body.string("name", allowEmpty: false),
            summary: try body.string("summary", maxLength: HTTPLimits.maxSummaryLength), flow: try Self.json(body, "flow"),
            inputs: try Self.json(body, "inputs"), origin: try Self.origin(body))
        return try JSONResponse.make(TemplateWire(t, info: useCases.flowInfo(of: t)), request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "template")
        let force = QueryParameters(request)["force"].map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        try await useCases.deleteTemplate(uuid: uuid, force: force)
        return try JSONResponse.ok(request)
    }
}
