import ClaiflowCore
import ClaiflowQuery

/// The fields of a template an update may change; nil leaves a field as it is.
public struct TemplateChanges: Sendable {
    public var name: String?
    public var summary: String?
    public var flow: String?
    public var inputs: String?
    public var origin: String?

    public init(name: String? = nil, summary: String? = nil, flow: String? = nil, inputs: String? = nil, origin: String? = nil) {
        self.name = name
        self.summary = summary
        self.flow = flow
        self.inputs = inputs
        self.origin = origin
    }

    /// Whether nothing would change.
    public var isEmpty: Bool { name == nil && summary == nil && flow == nil && inputs == nil && origin == nil }
}

extension Store {
    static func template(_ r: SQLRow) throws -> Template {
        Template(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            flow: try r.text("flow"), inputs: try r.text("inputs"), origin: try r.text("origin"),
            builtin: try r.integer("builtin") != 0, created: try r.timestamp("created"),
            updated: try r.timestamp("updated"))
    }

    static func insertTemplateSQL(_ t: Template) -> SQL {
        """
        INSERT INTO template (uuid, name, summary, flow, inputs, origin, builtin, created, updated)
        VALUES (\(bind: t.uuid), \(bind: t.name), \(bind: t.summary), \(bind: t.flow), \(bind: t.inputs), \(bind: t.origin),
            \(bind: t.builtin ? 1 : 0), \(bind: .timestamp(t.created)), \(bind: .timestamp(t.updated)))
        """
    }

    /// Inserts a template; 409 when the uuid exists.
    public func insertTemplate(_ t: Template) async throws {
        do {
            try await write("template.insert") { db in try await db.execute(Self.insertTemplateSQL(t)) }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "template \"\(t.uuid)\" already exists")
        }
    }

    /// Lists templates.
    public func templates(_ query: ListQuery) async throws -> [Template] {
        try await list("template.list", table: "template", query: query, map: Self.template)
    }

    /// One template, or nil.
    public func template(uuid: String) async throws -> Template? {
        try await read("template.get") { db in
            try await db.first("SELECT * FROM template WHERE uuid = \(bind: uuid)").map(Self.template)
        }
    }

    /// Applies changes to a template; nil when it does not exist.
    public func updateTemplate(uuid: String, changes c: TemplateChanges, now: Timestamp) async throws -> Template? {
        try await write("template.update") { db in
            try await db.first(
                """
                UPDATE template SET name = COALESCE(\(bind: c.name), name), summary = COALESCE(\(bind: c.summary), summary),
                    flow = COALESCE(\(bind: c.flow), flow), inputs = COALESCE(\(bind: c.inputs), inputs),
                    origin = COALESCE(\(bind: c.origin), origin), updated = \(bind: .timestamp(now))
                WHERE uuid = \(bind: uuid) RETURNING *
                """
            ).map(Self.template)
        }
    }

    /// Deletes a template; false when it did not exist. Services made from it keep their copy of the flow.
    public func deleteTemplate(uuid: String) async throws -> Bool {
        try await write("template.delete") { db in
            try await db.execute("DELETE FROM template WHERE uuid = \(bind: uuid)") > 0
        }
    }
}
