import ClaiflowCore

/// What one retention pass deleted.
public struct PruneCounts: Sendable, Equatable {
    /// Finished services, with their status history and result.
    public var services = 0
    /// Webhook deliveries that were delivered or gave up.
    public var deliveries = 0
    /// Agent sessions that expired.
    public var sessions = 0

    public init(services: Int = 0, deliveries: Int = 0, sessions: Int = 0) {
        self.services = services
        self.deliveries = deliveries
        self.sessions = sessions
    }

    public var total: Int { services + deliveries + sessions }
}

extension Store {
    /// Deletes at most `limit` of each kind of row that ended before `before`: finished services
    /// (succeeded, failed, canceled, expired; by their last change) with their statuses and
    /// result, finished webhook deliveries, and expired sessions. One short transaction; call it
    /// again while it deletes `limit` of a kind. Queued or running services are never deleted.
    public func pruneEnded(before: Timestamp, limit: Int) async throws -> PruneCounts {
        let finished = ServiceStatus.allCases.filter(\.isTerminal)
        return try await write("retention.prune") { db in
            // The same set in each statement: finished services do not change, and `id` orders them.
            let batch: SQL = """
                SELECT cluster_uuid, uuid FROM service WHERE status IN (\(bind: finished)) AND updated < \(bind: .timestamp(before))
                ORDER BY id LIMIT \(bind: .integer(Int64(limit)))
                """
            var counts = PruneCounts()
            try await db.execute("DELETE FROM service_status WHERE (cluster_uuid, uuid) IN (\(batch))")
            try await db.execute("DELETE FROM service_result WHERE (cluster_uuid, uuid) IN (\(batch))")
            counts.services = try await db.execute(
                "DELETE FROM service WHERE id IN (SELECT id FROM service WHERE status IN (\(bind: finished)) AND updated < \(bind: .timestamp(before)) ORDER BY id LIMIT \(bind: .integer(Int64(limit))))"
            )
            counts.deliveries = try await db.execute(
                """
                DELETE FROM webhook_delivery WHERE id IN (
                    SELECT id FROM webhook_delivery WHERE status <> 'pending' AND updated < \(bind: .timestamp(before))
                    ORDER BY id LIMIT \(bind: .integer(Int64(limit))))
                """)
            counts.sessions = try await db.execute(
                """
                DELETE FROM cluster_session WHERE id IN (
                    SELECT id FROM cluster_session WHERE expiration_time < \(bind: .timestamp(before))
                    ORDER BY id LIMIT \(bind: .integer(Int64(limit))))
                """)
            return counts
        }
    }
}
