import ClaiflowCore
import ClaiflowQuery

extension Store {
    static func globalVariable(_ r: SQLRow) throws -> GlobalVariable {
        GlobalVariable(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            value: try r.text("value"), created: try r.timestamp("created"), updated: try r.timestamp("updated"))
    }

    /// Inserts each of the four known variables that is missing (existing rows are left alone).
    /// `secret` is the value for `ClientSession/SignatureSecret` if it has to be created.
    /// Returns the names inserted.
    @discardableResult
    public func seedGlobalVariables(secret: String, now: Timestamp) async throws -> [String] {
        try await write("global_variable.seed") { db in
            var inserted: [String] = []
            for v in KnownGlobalVariable.allCases {
                let value = v.isSecret ? secret : v.defaultValue
                let n = try await db.execute(
                    """
                    INSERT INTO global_variable (uuid, name, summary, value, created, updated)
                    VALUES (\(bind: v.uuid), \(bind: v.name), \(bind: v.summary), \(bind: value), \(bind: .timestamp(now)),
                        \(bind: .timestamp(now)))
                    ON CONFLICT (uuid) DO NOTHING
                    """)
                if n > 0 { inserted.append(v.name) }
            }
            return inserted
        }
    }

    /// Lists global variables.
    public func globalVariables(_ query: ListQuery) async throws -> [GlobalVariable] {
        try await list("global_variable.list", table: "global_variable", query: query, map: Self.globalVariable)
    }

    /// One global variable, or nil.
    public func globalVariable(uuid: String) async throws -> GlobalVariable? {
        try await read("global_variable.get") { db in
            try await db.first("SELECT * FROM global_variable WHERE uuid = \(bind: uuid)").map(Self.globalVariable)
        }
    }

    /// Sets a variable's value; nil when it does not exist.
    public func updateGlobalVariable(uuid: String, value: String, now: Timestamp) async throws -> GlobalVariable? {
        try await write("global_variable.update") { db in
            try await db.first(
                """
                UPDATE global_variable SET value = \(bind: value), updated = \(bind: .timestamp(now))
                WHERE uuid = \(bind: uuid) RETURNING *
                """
            ).map(Self.globalVariable)
        }
    }
}
