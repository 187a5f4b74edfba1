import ClaiflowCore
import ClaiflowQuery
import Hummingbird

/// Shared pieces of the HTTP handlers.
enum Handlers {
    /// Parses `q`, `o`, `p` for a table.
    static func listQuery(_ request: Request, schema: TableSchema, unpagedLimit: Int? = nil) throws -> ListQuery {
        let params = QueryParameters(request)
        return try ListQueryParser(schema: schema, unpagedLimit: unpagedLimit).parse(
            q: params["q"], o: params["o"], p: params["p"])
    }

    /// A path parameter; identifiers longer than the maximum cannot exist, so they are a 404 without a lookup.
    static func pathID(_ context: AppRequestContext, _ name: String, entity: String) throws -> String {
        let value = context.parameters.get(name) ?? ""
        guard Identifier.isValid(value) else { throw ClaiflowError.notFound(entity, value) }
        return value
    }
}
