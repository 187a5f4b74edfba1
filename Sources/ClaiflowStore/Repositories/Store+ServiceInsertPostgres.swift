import ClaiflowCore

extension Store {
    /// Creates one service on PostgreSQL in one statement that commits by itself (one round
    /// trip instead of `BEGIN`, the cluster check, two inserts and `COMMIT`): the service row and
    /// its `regist` status row are written only when the cluster exists. For a service without
    /// a webhook (no delivery to enqueue) and outside a run (``insertServices(_:)`` takes it
    /// here). The wake-up and status events go to the ``EventPublisher`` after the commit.
    func insertService(_ s: Service, sealedInputs: String, on pg: PostgresDatabase) async throws {
        let change = Self.registChange(s)
        // The parameters of `INSERT … SELECT` take the types of the columns they go to, as in
        // `INSERT … VALUES` (a NULL bound without a type included).
        let sql: SQL = """
            WITH s AS (
                INSERT INTO service \(Self.serviceColumns)
                SELECT \(Self.serviceRowValues(s, sealedInputs: sealedInputs, held: false, validityShift: 0))
                WHERE EXISTS (SELECT 1 FROM cluster WHERE uuid = \(bind: s.clusterUUID))
                RETURNING 1),
            st AS (INSERT INTO service_status \(Self.statusColumns) SELECT \(Self.statusRowValues(change)) FROM s)
            SELECT COUNT(*) AS n FROM s
            """
        let inserted: Int64
        do {
            inserted = try await timed("service.insert") { try await pg.autocommitQuery(sql).first?.integer("n") ?? 0 }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "service \"\(s.uuid)\" already exists on cluster \"\(s.clusterUUID)\"")
        }
        guard inserted == 1 else {
            throw ClaiflowError.invalidField("cluster_uuid", "cluster \"\(s.clusterUUID)\" does not exist")
        }
        announce([.wake(cluster: s.clusterUUID), .status(StatusEvent.of([change]))])
    }
}
