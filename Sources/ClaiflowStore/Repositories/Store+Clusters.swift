import ClaiflowCore
import ClaiflowQuery

extension Store {
    static func cluster(_ r: SQLRow) throws -> Cluster {
        Cluster(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            created: try r.timestamp("created"), updated: try r.timestamp("updated"))
    }

    /// Inserts a cluster; 409 when the uuid exists.
    public func insertCluster(_ c: Cluster) async throws {
        do {
            try await write(
                "cluster.insert",
                statement: """
                    INSERT INTO cluster (uuid, name, summary, created, updated)
                    VALUES (\(bind: c.uuid), \(bind: c.name), \(bind: c.summary), \(bind: .timestamp(c.created)), \(bind: .timestamp(c.updated)))
                    """)
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "cluster \"\(c.uuid)\" already exists")
        }
    }

    /// Lists clusters.
    public func clusters(_ query: ListQuery) async throws -> [Cluster] {
        try await list("cluster.list", table: "cluster", query: query, map: Self.cluster)
    }

    /// One cluster, or nil.
    public func cluster(uuid: String) async throws -> Cluster? {
        try await read("cluster.get") { db in
            try await db.first("SELECT * FROM cluster WHERE uuid = \(bind: uuid)").map(Self.cluster)
        }
    }

    /// Changes a cluster's name and/or summary; nil when it does not exist.
    public func updateCluster(uuid: String, name: String?, summary: String?, now: Timestamp) async throws -> Cluster? {
        try await write("cluster.update") { db in
            try await db.first(
                """
                UPDATE cluster SET name = COALESCE(\(bind: name), name), summary = COALESCE(\(bind: summary), summary),
                updated = \(bind: .timestamp(now)) WHERE uuid = \(bind: uuid) RETURNING *
                """
            ).map(Self.cluster)
        }
    }

    /// Deletes a cluster with its tokens, sessions and services (with their statuses and
    /// results) in one transaction. Returns false when it did not exist.
    public func deleteCluster(uuid: String) async throws -> Bool {
        try await write("cluster.delete") { db in
            try await db.execute("DELETE FROM service_result WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM service_status WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM service WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM cluster_session WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM cluster_token WHERE cluster_uuid = \(bind: uuid)")
            return try await db.execute("DELETE FROM cluster WHERE uuid = \(bind: uuid)") > 0
        }
    }
}
