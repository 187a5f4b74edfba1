import ClaiflowCore
import Foundation

/// The 235 templates of the original claiflow (Kubernetes, Prometheus, Helm and claiflow
/// system commands), shipped as a resource and inserted once, by migration 2. Because they are
/// inserted by a migration and not at every start, a template an operator deleted on purpose
/// (`DELETE …?force=true`) stays deleted, and one an operator edited keeps the edits.
public enum DefaultTemplates {
    /// The templates as shipped (parsed once per process).
    public static func load() throws -> [Template] { try cached.get() }

    private static let cached: Result<[Template], any Error> = Result { try parse() }

    /// The templates file exactly as shipped (the original's JSON: `uuid`, `name`, `command`,
    /// `flow`, `inputs_schema`, … per entry), before the fixes `load()` applies. Tests and tools
    /// read the product's own copy through this, never a copy outside the repository.
    public static func shippedJSON() throws -> JSONValue {
        guard let url = Bundle.module.url(forResource: "default-templates", withExtension: "json") else {
            throw StoreError.configuration("the default templates resource is missing from this build")
        }
        return try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    private static func parse() throws -> [Template] {
        guard case .array(let items) = try shippedJSON() else { throw StoreError.corrupt("default templates: not an array") }
        return try items.map { item in
            guard case .string(let uuid) = item.field("uuid"), case .string(let name) = item.field("name"),
                let flow = item.field("flow"), case .string(let origin) = item.field("origin")
            else { throw StoreError.corrupt("default templates: an entry lacks uuid, name, flow or origin") }
            var summary: String?
            if case .string(let s) = item.field("summary"), !s.isEmpty { summary = s }
            let inputs = fixPatchSchema(item.field("inputs_schema") ?? .object([:]))
            return Template(
                uuid: uuid, name: name, summary: summary, flow: flow.serialized(), inputs: inputs.serialized(),
                origin: origin, builtin: true, created: Timestamp(microseconds: 0), updated: Timestamp(microseconds: 0))
        }
    }

    /// The original's 53 `kubernetes_*_patch` schemas list `namespace`, `name` and `patch_type` in
    /// `properties` with `additionalProperties: false`, and describe `patch_data` only inside
    /// `then`/`else` — so by the JSON Schema rules `patch_data` is never allowed, while
    /// `dependentRequired` makes it required: no input could pass. This adds `"patch_data": {}`
    /// to `properties` (its shape stays defined by `then`/`else`); nothing else changes.
    static func fixPatchSchema(_ schema: JSONValue) -> JSONValue {
        guard case .object(var root) = schema, root["additionalProperties"] == .bool(false),
            case .object(var properties) = root["properties"], properties["patch_type"] != nil,
            properties["patch_data"] == nil
        else { return schema }
        properties["patch_data"] = .object([:])
        root["properties"] = .object(properties)
        return .object(root)
    }

    /// Inserts them in batches of multi-row INSERTs (fewer round trips).
    static func insert(into db: any SQLExecutor, now: Timestamp) async throws {
        let all = try load()
        for start in stride(from: 0, to: all.count, by: 40) {
            let rows = all[start..<min(start + 40, all.count)].map { t -> SQL in
                """
                (\(bind: t.uuid), \(bind: t.name), \(bind: t.summary), \(bind: t.flow), \(bind: t.inputs), \(bind: t.origin), 1,
                    \(bind: .timestamp(now)), \(bind: .timestamp(now)))
                """
            }
            try await db.execute(
                "INSERT INTO template (uuid, name, summary, flow, inputs, origin, builtin, created, updated) VALUES "
                    + SQL.join(rows, separator: ", "))
        }
    }
}
