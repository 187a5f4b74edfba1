import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

/// Creating one service (on PostgreSQL one statement that commits by itself), against both stores.
@Suite("Store service create")
struct ServiceInsertStoreTests {
    static func service(_ uuid: String, cluster: String, summary: String? = nil) -> Service {
        let now = Timestamp.now()
        var s = Service(
            clusterUUID: cluster, uuid: uuid, name: uuid, summary: summary, templateUUID: "t", flow: "[]", inputs: #"{"a":1}"#,
            stepMax: 3, priority: 2, webhook: nil, status: .regist, stepSeq: 0, cancelRequested: false, created: now,
            updated: now)
        s.timeout = ServiceTimeout(microseconds: 5_000_000)
        return s
    }

    @Test(
        "one service is written with its regist status; a missing cluster is a 400 and a duplicate a 409, writing nothing",
        arguments: StoreKind.available)
    func createOne(kind: StoreKind) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(Cluster(uuid: "c1", name: "c1", summary: nil, created: now, updated: now))
            let s = Self.service("s1", cluster: "c1", summary: nil)
            try await store.insertServices([s])
            let detail = try #require(try await store.serviceDetail(clusterUUID: "c1", uuid: "s1"))
            #expect(detail.service == s)
            #expect(detail.statuses.map(\.status) == [.regist])
            #expect(detail.statuses.first?.stepMax == 3)
            #expect(detail.statuses.first?.started == nil)

            await #expect(throws: ClaiflowError.invalidField("cluster_uuid", "cluster \"gone\" does not exist")) {
                try await store.insertServices([Self.service("s2", cluster: "gone")])
            }
            #expect(try await store.serviceDetail(clusterUUID: "gone", uuid: "s2") == nil)
            await #expect(throws: ClaiflowError(.conflict, "service \"s1\" already exists on cluster \"c1\"")) {
                try await store.insertServices([Self.service("s1", cluster: "c1", summary: "again")])
            }
            let after = try #require(try await store.serviceDetail(clusterUUID: "c1", uuid: "s1"))
            #expect(after.service.summary == nil)
            #expect(after.statuses.count == 1)
        }
    }
}
