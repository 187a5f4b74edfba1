import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/session` (read and delete; agents write sessions).
struct SessionController {
    let useCases: OperatorUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("session", use: list)
        group.get("session/{uuid}", use: get)
        group.delete("session/{uuid}", use: delete)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.session)
        return try JSONResponse.make(try await useCases.sessions(q).map(SessionWire.init), request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "session")
        return try JSONResponse.make(SessionWire(try await useCases.session(uuid: uuid)), request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "session")
        try await useCases.deleteSession(uuid: uuid)
        return try JSONResponse.ok(request)
    }
}
