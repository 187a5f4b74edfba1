import ClaiflowCore
import ClaiflowQuery

extension Store {
    static func session(_ r: SQLRow) throws -> ClusterSession {
        ClusterSession(
            uuid: try r.text("uuid"), clusterUUID: try r.text("cluster_uuid"),
            clusterTokenUUID: try r.text("cluster_client_token_uuid"), issuedAt: try r.timestamp("issued_at_time"),
            expiresAt: try r.timestamp("expiration_time"), clientVersion: r.optionalText("client_version"),
            clientLibVersion: r.optionalText("client_lib_version"), created: try r.timestamp("created"),
            updated: try r.timestamp("updated"))
    }

    static func upsertSessionSQL(_ s: ClusterSession) -> SQL {
        """
        INSERT INTO cluster_session (uuid, cluster_uuid, cluster_client_token_uuid, issued_at_time,
            expiration_time, client_version, client_lib_version, created, updated)
        VALUES (\(bind: s.uuid), \(bind: s.clusterUUID), \(bind: s.clusterTokenUUID), \(bind: .timestamp(s.issuedAt)),
            \(bind: .timestamp(s.expiresAt)), \(bind: s.clientVersion), \(bind: s.clientLibVersion),
            \(bind: .timestamp(s.created)), \(bind: .timestamp(s.updated)))
        ON CONFLICT (uuid) DO UPDATE SET expiration_time = excluded.expiration_time,
            client_version = excluded.client_version, client_lib_version = excluded.client_lib_version,
            updated = excluded.updated
        """
    }

    /// Inserts a session or, when its uuid exists, refreshes its expiry, versions and `updated`.
    public func upsertSession(_ s: ClusterSession) async throws {
        try await write("session.upsert") { db in try await db.execute(Self.upsertSessionSQL(s)) }
    }

    /// Lists sessions.
    public func sessions(_ query: ListQuery) async throws -> [ClusterSession] {
        try await list("session.list", table: "cluster_session", query: query, map: Self.session)
    }

    /// One session, or nil.
    public func session(uuid: String) async throws -> ClusterSession? {
        try await read("session.get") { db in
            try await db.first("SELECT * FROM cluster_session WHERE uuid = \(bind: uuid)").map(Self.session)
        }
    }

    /// Deletes a session; false when it did not exist.
    public func deleteSession(uuid: String) async throws -> Bool {
        try await write("session.delete") { db in
            try await db.execute("DELETE FROM cluster_session WHERE uuid = \(bind: uuid)") > 0
        }
    }

    /// The session of a cluster with the latest keep-alive deadline, or nil.
    public func latestSession(clusterUUID: String) async throws -> ClusterSession? {
        try await read("session.latest") { db in
            try await db.first(
                """
                SELECT * FROM cluster_session WHERE cluster_uuid = \(bind: clusterUUID)
                ORDER BY expiration_time DESC, id DESC LIMIT 1
                """
            ).map(Self.session)
        }
    }
}
