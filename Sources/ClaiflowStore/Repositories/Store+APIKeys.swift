import ClaiflowCore
import ClaiflowQuery

extension Store {
    static func apiKey(_ r: SQLRow) throws -> APIKey {
        guard let role = Role(rawValue: try r.text("role")) else { throw StoreError.corrupt("unknown role in api_key") }
        return APIKey(
            uuid: try r.text("uuid"), name: try r.text("name"), role: role, keyHash: try r.text("key_hash"),
            prefix: try r.text("prefix"), created: try r.timestamp("created"))
    }

    static func insertSQL(_ k: APIKey) -> SQL {
        """
        INSERT INTO api_key (uuid, name, role, key_hash, prefix, created)
        VALUES (\(bind: k.uuid), \(bind: k.name), \(bind: k.role.rawValue), \(bind: k.keyHash), \(bind: k.prefix),
            \(bind: .timestamp(k.created)))
        """
    }

    /// Inserts an API key; 409 when the uuid exists.
    public func insertAPIKey(_ k: APIKey) async throws {
        do {
            try await write("api_key.insert") { db in
                try await db.execute(Self.insertSQL(k))
            }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "api key \"\(k.uuid)\" already exists")
        }
    }

    /// Inserts an API key only when the table is empty (the first-start bootstrap key); returns
    /// whether it was inserted. Safe when several replicas start at once.
    public func insertFirstAPIKey(_ k: APIKey) async throws -> Bool {
        let dialect = self.dialect
        return try await write("api_key.bootstrap") { db in
            if dialect == .postgres { try await db.execute("SELECT pg_advisory_xact_lock(4242002)") }
            guard try await db.first("SELECT id FROM api_key LIMIT 1") == nil else { return false }
            try await db.execute(Self.insertSQL(k))
            return true
        }
    }

    /// Lists API keys.
    public func apiKeys(_ query: ListQuery) async throws -> [APIKey] {
        try await list("api_key.list", table: "api_key", query: query, map: Self.apiKey)
    }

    /// One API key by the SHA-256 of the key, or nil.
    public func apiKey(hash: String) async throws -> APIKey? {
        try await read("api_key.by_hash") { db in
            try await db.first("SELECT * FROM api_key WHERE key_hash = \(bind: hash)").map(Self.apiKey)
        }
    }

    /// Deletes an API key; false when it did not exist.
    public func deleteAPIKey(uuid: String) async throws -> Bool {
        try await write("api_key.delete") { db in
            try await db.execute("DELETE FROM api_key WHERE uuid = \(bind: uuid)") > 0
        }
    }
}
