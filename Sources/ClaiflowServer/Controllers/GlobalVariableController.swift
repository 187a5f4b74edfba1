import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/global_variables`: list and get for viewers, update for admins.
struct GlobalVariableController {
    let useCases: OperatorUseCases

    func registerReads(on group: RouterGroup<AppRequestContext>) {
        group.get("global_variables", use: list)
        group.get("global_variables/{uuid}", use: get)
    }

    func registerWrites(on group: RouterGroup<AppRequestContext>) {
        group.put("global_variables/{uuid}", use: update)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.globalVariable)
        return try JSONResponse.make(try await useCases.globalVariables(q).map(GlobalVariableWire.init), request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "global variable")
        return try JSONResponse.make(GlobalVariableWire(try await useCases.globalVariable(uuid: uuid)), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "global variable")
        let body = try await RequestBody.read(request, context: context)
        guard let value = try body.string("value", maxLength: 4096) else {
            throw ClaiflowError(.invalidArgument, "nothing to change: give value")
        }
        let g = try await useCases.updateGlobalVariable(uuid: uuid, value: value)
        context.logger.notice("global variable changed", metadata: ["name": .string(g.name)])
        return try JSONResponse.make(GlobalVariableWire(g), request: request)
    }
}
