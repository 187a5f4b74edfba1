import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/api_key` (admins only).
struct APIKeyController {
    let useCases: OperatorUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("api_key", use: create)
        group.get("api_key", use: list)
        group.delete("api_key/{uuid}", use: delete)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let name = try body.string("name", required: true, allowEmpty: false) ?? ""
        let roleText = try body.string("role", required: true, maxLength: 16) ?? ""
        guard let role = Role(rawValue: roleText.lowercased()) else {
            throw ClaiflowError.invalidField("role", "must be viewer, operator or admin, got \"\(roleText)\"")
        }
        let (k, key) = try await useCases.createAPIKey(name: name, role: role)
        context.logger.notice("api key created", metadata: ["key_uuid": .string(k.uuid), "role": .string(role.rawValue)])
        return try JSONResponse.make(APIKeyWire(k, key: key), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.apiKey)
        return try JSONResponse.make(try await useCases.apiKeys(q).map { APIKeyWire($0) }, request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "api key")
        try await useCases.deleteAPIKey(uuid: uuid)
        context.logger.notice("api key deleted", metadata: ["key_uuid": .string(uuid)])
        return try JSONResponse.ok(request)
    }
}
