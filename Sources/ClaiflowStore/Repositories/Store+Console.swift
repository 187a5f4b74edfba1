import ClaiflowCore

/// What the web console's overview shows.
public struct ConsoleOverview: Sendable, Equatable {
    /// All clusters.
    public var clusters: Int
    /// Clusters with an unexpired agent session.
    public var connected: Int
    /// Services created since the window's start, by status.
    public var servicesByStatus: [ServiceStatus: Int]
    /// Runs not ended.
    public var runsInProgress: Int
}

/// Reads of the web console that the API has no list for.
extension Store {
    /// The overview counts: clusters, connected clusters, services by status since `since`, runs in progress.
    public func consoleOverview(now: Timestamp, since: Timestamp) async throws -> ConsoleOverview {
        try await read("console.overview") { db in
            let clusters = try await db.first("SELECT COUNT(*) AS n FROM cluster")?.integer("n") ?? 0
            let connected =
                try await db.first(
                    "SELECT COUNT(DISTINCT cluster_uuid) AS n FROM cluster_session WHERE expiration_time > \(bind: .timestamp(now))"
                )?.integer("n") ?? 0
            // One range count per status on `service_status_created (status, created)`: a
            // `GROUP BY status` had the planner scan that whole index for its order (1,000,000
            // services: 80 ms of the page's 83 ms), when the window holds a few thousand.
            let perStatus = ServiceStatus.allCases.map { s -> SQL in
                "SELECT \(raw: String(s.rawValue)) AS status, COUNT(*) AS n FROM service WHERE status = \(raw: String(s.rawValue)) AND created >= \(bind: .timestamp(since))"
            }
            var byStatus: [ServiceStatus: Int] = [:]
            for row in try await db.query(SQL.join(perStatus, separator: " UNION ALL ")) {
                if let s = ServiceStatus(rawValue: Int(try row.integer("status"))) { byStatus[s] = Int(try row.integer("n")) }
            }
            let runs = try await db.first("SELECT COUNT(*) AS n FROM run WHERE ended IS NULL")?.integer("n") ?? 0
            return ConsoleOverview(
                clusters: Int(clusters), connected: Int(connected), servicesByStatus: byStatus, runsInProgress: Int(runs))
        }
    }

    /// The latest agent session of each of these clusters (one query).
    public func latestSessions(clusterUUIDs: [String]) async throws -> [String: ClusterSession] {
        guard !clusterUUIDs.isEmpty else { return [:] }
        return try await read("session.latest_many") { db in
            let rows = try await db.query(
                """
                SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY cluster_uuid ORDER BY expiration_time DESC, id DESC) AS rn
                    FROM cluster_session s WHERE cluster_uuid IN (
                """ + SQL.join(clusterUUIDs.map { "\(bind: $0)" }, separator: ", ") + ")) t WHERE rn = 1")
            var out: [String: ClusterSession] = [:]
            for row in rows {
                let s = try Self.session(row)
                out[s.clusterUUID] = s
            }
            return out
        }
    }
}
