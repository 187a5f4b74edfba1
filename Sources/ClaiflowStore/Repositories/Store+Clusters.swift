import ClaiflowCore
import ClaiflowQuery

/// What an update changes in a cluster; nil leaves a field as it is.
public struct ClusterChanges: Sendable {
    public var name: String?
    public var summary: String?
    /// The new labels, replacing all the old ones.
    public var labels: ClusterLabels?
    /// Pause (`true`) or resume (`false`) it.
    public var paused: Bool?

    public init(name: String? = nil, summary: String? = nil, labels: ClusterLabels? = nil, paused: Bool? = nil) {
        self.name = name
        self.summary = summary
        self.labels = labels
        self.paused = paused
    }

    /// Whether it changes nothing.
    public var isEmpty: Bool { name == nil && summary == nil && labels == nil && paused == nil }
}

/// What an update did.
public struct ClusterUpdate: Sendable {
    /// The cluster after it.
    public var cluster: Cluster
    /// Whether it resumed a paused cluster (its agents may have work now).
    public var resumed: Bool
}

extension Store {
    static func cluster(_ r: SQLRow) throws -> Cluster {
        Cluster(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"),
            created: try r.timestamp("created"), updated: try r.timestamp("updated"),
            labels: try ClusterLabels(json: try r.text("labels")), pausedSince: r.optionalTimestamp("paused_since"))
    }

    /// Writes a cluster's label rows (after its old ones were deleted), in the caller's transaction.
    static func insertLabelRows(_ db: any SQLExecutor, cluster: String, labels: ClusterLabels) async throws {
        guard !labels.isEmpty else { return }
        let rows = labels.values.sorted { $0.key < $1.key }.map { k, v -> SQL in "(\(bind: cluster), \(bind: k), \(bind: v))" }
        try await db.execute("INSERT INTO cluster_label (cluster_uuid, key, value) VALUES " + SQL.join(rows, separator: ", "))
    }

    /// Inserts a cluster with its labels in one transaction, with its status event for the
    /// watchers (`created`, or `paused` for one created paused), handed on after the commit;
    /// 409 when the uuid exists. A cluster without labels is one statement that commits by itself
    /// (on PostgreSQL one round trip, without `BEGIN` and `COMMIT`).
    public func insertCluster(_ c: Cluster) async throws {
        let insert: SQL = """
            INSERT INTO cluster (uuid, name, summary, created, updated, labels, paused, paused_since)
            VALUES (\(bind: c.uuid), \(bind: c.name), \(bind: c.summary), \(bind: .timestamp(c.created)),
                \(bind: .timestamp(c.updated)), \(bind: c.labels.json), \(bind: c.paused ? 1 : 0),
                \(bind: c.pausedSince.map { .timestamp($0) } ?? .null))
            """
        let event = StatusEvent(topic: .cluster, uuid: c.uuid, cluster: c.uuid, status: c.paused ? "paused" : "created")
        do {
            if c.labels.isEmpty {
                try await write("cluster.insert", statement: insert)
                announce([.status([event])])
                return
            }
            try await write("cluster.insert") { db in
                try await db.execute(insert)
                try await Self.insertLabelRows(db, cluster: c.uuid, labels: c.labels)
                try await Self.notifyStatus(db, [event])
            }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "cluster \"\(c.uuid)\" already exists")
        }
    }

    /// Lists the clusters a list query and a label selector choose (the selector and `q` both
    /// hold). Runs resolve their target set through this too.
    public func clusters(_ query: ListQuery, selector: LabelSelector? = nil) async throws -> [Cluster] {
        try await list(
            "cluster.list", table: "cluster", query: query, extra: selector?.sqlCondition(), prefixIndexed: "name",
            map: Self.cluster)
    }

    /// One cluster, or nil.
    public func cluster(uuid: String) async throws -> Cluster? {
        try await read("cluster.get") { db in
            try await db.first("SELECT * FROM cluster WHERE uuid = \(bind: uuid)").map(Self.cluster)
        }
    }

    /// Changes a cluster in one transaction; nil when it does not exist.
    ///
    /// - `labels` replace all the old ones (the JSON column and the `cluster_label` rows together);
    /// - pausing records since when (pausing a paused cluster keeps that time); resuming moves the
    ///   validity clock of the cluster's unfinished services later by the time the pause
    ///   overlapped it (``ServiceSweepRule/validityStart(from:pausedSince:resumed:)``), so the
    ///   paused time never counts towards their expiry.
    public func updateCluster(uuid: String, changes: ClusterChanges, now: Timestamp) async throws -> ClusterUpdate? {
        let lock = lockClause()
        return try await write("cluster.update") { db in
            guard let current = try await db.first("SELECT * FROM cluster WHERE uuid = \(bind: uuid)\(lock)").map(Self.cluster)
            else { return nil }
            var pausedSince = current.pausedSince
            var resumed = false
            if let paused = changes.paused {
                if paused, pausedSince == nil { pausedSince = now }
                if !paused, let since = pausedSince {
                    pausedSince = nil
                    resumed = true
                    try await Self.shiftValidity(db, cluster: uuid, pausedSince: since, resumed: now)
                }
            }
            if let labels = changes.labels {
                try await db.execute("DELETE FROM cluster_label WHERE cluster_uuid = \(bind: uuid)")
                try await Self.insertLabelRows(db, cluster: uuid, labels: labels)
            }
            guard
                let updated = try await db.first(
                    """
                    UPDATE cluster SET name = COALESCE(\(bind: changes.name), name), summary = COALESCE(\(bind: changes.summary), summary),
                        labels = COALESCE(\(bind: changes.labels?.json), labels), paused = \(bind: pausedSince == nil ? 0 : 1),
                        paused_since = \(bind: pausedSince.map { .timestamp($0) } ?? .null), updated = \(bind: .timestamp(now))
                    WHERE uuid = \(bind: uuid) RETURNING *
                    """
                ).map(Self.cluster)
            else { return nil }
            return ClusterUpdate(cluster: updated, resumed: resumed)
        }
    }

    /// Moves the validity clock of a resumed cluster's unfinished services past the pause: by
    /// the whole pause for those whose clock started before it, to the resume for those created
    /// during it (``ServiceSweepRule/validityStart(from:pausedSince:resumed:)`` in SQL).
    static func shiftValidity(_ db: any SQLExecutor, cluster: String, pausedSince: Timestamp, resumed: Timestamp) async throws {
        let shift = max(0, resumed.microseconds - pausedSince.microseconds)
        guard shift > 0 else { return }
        let unfinished = ServiceStatus.allCases.filter { !$0.isTerminal }
        try await db.execute(
            """
            UPDATE service SET validity_shift = validity_shift + CASE
                WHEN created + validity_shift <= \(bind: .timestamp(pausedSince)) THEN \(bind: shift)
                WHEN created + validity_shift < \(bind: .timestamp(resumed))
                    THEN \(bind: .timestamp(resumed)) - (created + validity_shift)
                ELSE 0 END
            WHERE cluster_uuid = \(bind: cluster) AND status IN (\(bind: unfinished))
            """)
    }

    /// Deletes a cluster with its labels, tokens, sessions and services (with their statuses and
    /// results) in one transaction. Returns false when it did not exist.
    public func deleteCluster(uuid: String) async throws -> Bool {
        try await write("cluster.delete") { db in
            // The cluster's row first: its lock makes a run being written for it (which takes a
            // key-share lock on it, `insertRun`) finish first, so its services are deleted below.
            let deleted = try await db.execute("DELETE FROM cluster WHERE uuid = \(bind: uuid)") > 0
            try await db.execute("DELETE FROM service_result WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM service_status WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM service WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM cluster_session WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM cluster_token WHERE cluster_uuid = \(bind: uuid)")
            try await db.execute("DELETE FROM cluster_label WHERE cluster_uuid = \(bind: uuid)")
            return deleted
        }
    }

    /// The first of `uuids` that names no cluster, in the caller's transaction (500 per
    /// statement); nil when all exist. With `lock`, on PostgreSQL, the clusters' rows are read
    /// with a key-share lock: a delete of one of them (which takes the cluster's row first,
    /// ``deleteCluster(uuid:)``) waits until the caller's services are committed, and then
    /// deletes them with it.
    static func firstMissingCluster(_ db: any SQLExecutor, _ uuids: [String], lock: Bool) async throws -> String? {
        let keyShare: SQL = lock && db.dialect == .postgres ? " FOR KEY SHARE" : ""
        for chunk in stride(from: 0, to: uuids.count, by: 500) {
            let ids = uuids[chunk..<min(chunk + 500, uuids.count)]
            let found = Set(
                try await db.query(
                    "SELECT uuid FROM cluster WHERE uuid IN (" + SQL.join(ids.map { "\(bind: $0)" }, separator: ", ") + ")"
                        + keyShare
                ).map { try $0.text("uuid") })
            if let missing = ids.first(where: { !found.contains($0) }) { return missing }
        }
        return nil
    }
}
