import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

/// The console's read of each webhook's newest delivery, on each store (SQLite and a real
/// PostgreSQL).
@Suite("Store webhook deliveries: the newest of each webhook")
struct WebhookDeliveryStoreTests {
    @Test("latestDeliveries: the newest delivery of each webhook asked for, none for one without", arguments: StoreKind.available)
    func latest(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            _ = try await store.database.transaction { db in
                for hook in ["a", "b", "quiet", "other"] {
                    try await db.execute(
                        """
                        INSERT INTO webhook (uuid, name, url, method, headers, secret, created, updated)
                        VALUES (\(bind: hook), \(bind: hook), 'http://127.0.0.1:1/', 'POST', '', '', \(bind: .timestamp(now)),
                            \(bind: .timestamp(now)))
                        """)
                }
                // Interleaved, so that the newest of one webhook is not the newest row overall.
                for (i, (hook, status)) in [
                    ("a", "failed"), ("b", "delivered"), ("a", "delivered"), ("b", "failed"), ("other", "pending"),
                ]
                .enumerated() {
                    try await db.execute(
                        """
                        INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, created, updated)
                        VALUES (\(bind: "d\(i)"), \(bind: hook), 'c1', 's1', '{}', \(bind: status), \(bind: .timestamp(now)),
                            \(bind: .timestamp(now)))
                        """)
                }
                return 0
            }
            let latest = try await store.latestDeliveries(webhookUUIDs: ["a", "b", "quiet", "missing"])
            #expect(latest.keys.sorted() == ["a", "b"])
            #expect(latest["a"]?.uuid == "d2")
            #expect(latest["a"]?.status == .delivered)
            #expect(latest["b"]?.uuid == "d3")
            #expect(latest["b"]?.status == .failed)
            #expect(try await store.latestDeliveries(webhookUUIDs: []).isEmpty)
            // More webhooks than one statement asks for (SQLite's compound SELECT limit).
            let many = try await store.latestDeliveries(webhookUUIDs: (0..<450).map { "none\($0)" } + ["b"])
            #expect(many.keys.sorted() == ["b"])
        }
    }
}
