import ClaiflowCore
import ClaiflowQuery

/// The fields of a cluster token an update may change; nil leaves a field as it is.
public struct ClusterTokenChanges: Sendable {
    public var name: String?
    public var summary: String?
    public var tokenHash: String?
    public var issuedAt: Timestamp?
    public var expiresAt: Timestamp?

    public init(
        name: String? = nil, summary: String? = nil, tokenHash: String? = nil, issuedAt: Timestamp? = nil,
        expiresAt: Timestamp? = nil
    ) {
        self.name = name
        self.summary = summary
        self.tokenHash = tokenHash
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

extension Store {
    static func clusterToken(_ r: SQLRow) throws -> ClusterToken {
        ClusterToken(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            clusterUUID: try r.text("cluster_uuid"), tokenHash: try r.text("token_hash"),
            issuedAt: try r.timestamp("issued_at_time"), expiresAt: try r.timestamp("expiration_time"),
            created: try r.timestamp("created"), updated: try r.timestamp("updated"))
    }

    static func tokenConflict(_ detail: String, uuid: String) -> ClaiflowError {
        detail.contains("token_hash")
            ? ClaiflowError(.conflict, "field \"token\": this token is already in use")
            : ClaiflowError(.conflict, "cluster token \"\(uuid)\" already exists")
    }

    /// Inserts a token; 400 naming `cluster_uuid` when the cluster does not exist, 409 on a
    /// duplicate uuid or token.
    public func insertClusterToken(_ t: ClusterToken) async throws {
        do {
            try await write("cluster_token.insert") { db in
                guard try await db.first("SELECT id FROM cluster WHERE uuid = \(bind: t.clusterUUID)") != nil else {
                    throw ClaiflowError.invalidField("cluster_uuid", "cluster \"\(t.clusterUUID)\" does not exist")
                }
                try await db.execute(
                    """
                    INSERT INTO cluster_token (uuid, name, summary, cluster_uuid, token_hash, issued_at_time,
                        expiration_time, created, updated)
                    VALUES (\(bind: t.uuid), \(bind: t.name), \(bind: t.summary), \(bind: t.clusterUUID), \(bind: t.tokenHash),
                        \(bind: .timestamp(t.issuedAt)), \(bind: .timestamp(t.expiresAt)), \(bind: .timestamp(t.created)),
                        \(bind: .timestamp(t.updated)))
                    """)
            }
        } catch StoreError.uniqueViolation(let detail) {
            throw Self.tokenConflict(detail, uuid: t.uuid)
        }
    }

    /// Lists cluster tokens.
    public func clusterTokens(_ query: ListQuery) async throws -> [ClusterToken] {
        try await list("cluster_token.list", table: "cluster_token", query: query, map: Self.clusterToken)
    }

    /// One token by uuid, or nil.
    public func clusterToken(uuid: String) async throws -> ClusterToken? {
        try await read("cluster_token.get") { db in
            try await db.first("SELECT * FROM cluster_token WHERE uuid = \(bind: uuid)").map(Self.clusterToken)
        }
    }

    /// One token by the SHA-256 of its secret, or nil.
    public func clusterToken(hash: String) async throws -> ClusterToken? {
        try await read("cluster_token.by_hash") { db in
            try await db.first("SELECT * FROM cluster_token WHERE token_hash = \(bind: hash)").map(Self.clusterToken)
        }
    }

    /// Applies changes to a token; nil when it does not exist; 409 when the new secret is in use.
    public func updateClusterToken(uuid: String, changes c: ClusterTokenChanges, now: Timestamp) async throws -> ClusterToken? {
        do {
            return try await write("cluster_token.update") { db in
                try await db.first(
                    """
                    UPDATE cluster_token SET name = COALESCE(\(bind: c.name), name),
                        summary = COALESCE(\(bind: c.summary), summary),
                        token_hash = COALESCE(\(bind: c.tokenHash), token_hash),
                        issued_at_time = COALESCE(\(bind: c.issuedAt.map { .timestamp($0) } ?? .null), issued_at_time),
                        expiration_time = COALESCE(\(bind: c.expiresAt.map { .timestamp($0) } ?? .null), expiration_time),
                        updated = \(bind: .timestamp(now))
                    WHERE uuid = \(bind: uuid) RETURNING *
                    """
                ).map(Self.clusterToken)
            }
        } catch StoreError.uniqueViolation(let detail) {
            throw Self.tokenConflict(detail, uuid: uuid)
        }
    }

    /// Deletes a token and its sessions; false when it did not exist.
    public func deleteClusterToken(uuid: String) async throws -> Bool {
        try await write("cluster_token.delete") { db in
            try await db.execute("DELETE FROM cluster_session WHERE cluster_client_token_uuid = \(bind: uuid)")
            return try await db.execute("DELETE FROM cluster_token WHERE uuid = \(bind: uuid)") > 0
        }
    }
}
