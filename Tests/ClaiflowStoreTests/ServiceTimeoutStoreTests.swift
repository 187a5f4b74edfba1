import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

/// Service timeouts, cancellation lookups and v2 gating as each store applies them (SQLite and a
/// real PostgreSQL).
@Suite("Store service timeouts and flow v2 gating")
struct ServiceTimeoutStoreTests {
    static func service(_ uuid: String, at now: Timestamp, timeout: ServiceTimeout? = nil, v2: Bool = false) -> Service {
        var s = Service(
            clusterUUID: "c1", uuid: uuid, name: uuid, summary: nil, templateUUID: "", flow: "[]", inputs: "null", stepMax: 1,
            priority: 0, webhook: nil, status: .regist, stepSeq: 0, cancelRequested: false, created: now, updated: now)
        s.timeout = timeout
        s.needsFlowV2 = v2
        return s
    }

    static func session(_ uuid: String, lib: String, at now: Timestamp) -> ClusterSession {
        ClusterSession(
            uuid: uuid, clusterUUID: "c1", clusterTokenUUID: "t1", issuedAt: now, expiresAt: now.adding(.seconds(3600)),
            clientVersion: "v", clientLibVersion: lib, created: now, updated: now)
    }

    static func claim(_ store: Store, session: String, at now: Timestamp, v2: Bool) async throws -> [String] {
        try await store.claimServices(
            clusterUUID: "c1", sessionUUID: session, limit: 10, validAfter: now.adding(.seconds(-600)),
            leaseUntil: now.adding(.seconds(600)), now: now, runsFlowV2: v2
        ).map(\.service.uuid).sorted()
    }

    /// A store of `kind` with cluster `c1`, and the time it was made.
    static func withCluster(_ kind: StoreKind, _ body: (Store, Timestamp) async throws -> Void) async throws {
        try await StoreFixture.withStore(kind) { store in
            let now = Timestamp.now()
            try await store.insertCluster(Cluster(uuid: "c1", name: "c1", summary: nil, created: now, updated: now))
            try await body(store, now)
        }
    }

    static func messages(_ store: Store, _ uuid: String) async throws -> [String] {
        try await store.serviceDetail(clusterUUID: "c1", uuid: uuid)?.statuses.compactMap(\.message) ?? []
    }

    @Test(
        "the timeout round-trips; a processing service past its timeout plus the grace fails \"timed out\"",
        arguments: StoreKind.available)
    func timeoutSweep(kind: StoreKind) async throws {
        try await Self.withCluster(kind) { store, now in
            let ten = try #require(ServiceTimeout(.seconds(10)))
            try await store.insertServices([Self.service("slow", at: now, timeout: ten), Self.service("plain", at: now)])
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "slow")?.service.timeout == ten)
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "plain")?.service.timeout == nil)
            #expect(try await Self.claim(store, session: "s1", at: now, v2: true) == ["plain", "slow"])
            for uuid in ["slow", "plain"] {
                _ = try await store.recordReport(
                    clusterUUID: "c1", uuid: uuid, sessionUUID: "s1",
                    report: StepReportInput(sequence: 0, status: .processing, result: nil, error: nil, started: now, ended: nil),
                    leaseUntil: now.adding(.seconds(600)), now: now)
            }
            let grace = GoDuration.seconds(5)
            // The deadline the sweeper sleeps until: the timeout's end plus the grace.
            #expect(try await store.nextDeadline(validity: .seconds(600), timeoutGrace: grace) == now.adding(.seconds(15)))
            // Past the timeout but within the grace: the agent still has time to report it.
            #expect(
                try await store.sweep(
                    now: now.adding(.seconds(14)), validAfter: now.adding(.seconds(-600)), maxAttempts: 3, timeoutGrace: grace
                ).isEmpty)
            let changes = try await store.sweep(
                now: now.adding(.seconds(16)), validAfter: now.adding(.seconds(-600)), maxAttempts: 3, timeoutGrace: grace)
            #expect(changes.map(\.service.uuid) == ["slow"])
            #expect(changes.first?.record.status == .failed)
            let message = ServiceSweepRule(maxAttempts: 3, timeoutGrace: grace).timeoutMessage
            #expect(message.hasPrefix("timed out"))
            #expect(try await Self.messages(store, "slow").last == message)
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "plain")?.service.status == .processing)
        }
    }

    @Test(
        "v2 services are not claimed by an original agent's session, and say why once; ours claim them",
        arguments: StoreKind.available)
    func flowV2Gating(kind: StoreKind) async throws {
        try await Self.withCluster(kind) { store, now in
            try await store.insertServices([Self.service("v2", at: now, v2: true)])
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "v2")?.service.needsFlowV2 == true)
            try await store.upsertSession(Self.session("old", lib: "0.1.0", at: now))
            #expect(try await Self.claim(store, session: "old", at: now, v2: false) == [])
            #expect(try await Self.messages(store, "v2") == [AgentVersion.flowV2WaitMessage])
            // Said once, however often the original agent polls.
            #expect(try await Self.claim(store, session: "old", at: now, v2: false) == [])
            #expect(try await Self.messages(store, "v2") == [AgentVersion.flowV2WaitMessage])
            // A v1 service still goes to the original agent.
            try await store.insertServices([Self.service("v1", at: now)])
            #expect(try await Self.claim(store, session: "old", at: now, v2: false) == ["v1"])
            #expect(try await Self.claim(store, session: "new", at: now, v2: true) == ["v2"])
        }
    }

    @Test("no waiting note while an agent that runs v2 flows has a session on the cluster", arguments: StoreKind.available)
    func noNoteWithOurAgent(kind: StoreKind) async throws {
        try await Self.withCluster(kind) { store, now in
            try await store.insertServices([Self.service("v2", at: now, v2: true)])
            try await store.upsertSession(Self.session("ours", lib: "0.3.0", at: now))
            #expect(try await Self.claim(store, session: "old", at: now, v2: false) == [])
            #expect(try await Self.messages(store, "v2").isEmpty)
        }
    }

    @Test("the cancellation lookup names the services of the list an operator asked to cancel", arguments: StoreKind.available)
    func cancelRequested(kind: StoreKind) async throws {
        try await Self.withCluster(kind) { store, now in
            try await store.insertServices([Self.service("a", at: now), Self.service("b", at: now), Self.service("c", at: now)])
            #expect(try await Self.claim(store, session: "s1", at: now, v2: true) == ["a", "b", "c"])
            #expect(try await store.cancelRequested(clusterUUID: "c1", uuids: ["a", "b"]).isEmpty)
            _ = try await store.cancelService(clusterUUID: "c1", uuid: "b", now: now)
            _ = try await store.cancelService(clusterUUID: "c1", uuid: "c", now: now)
            #expect(try await store.cancelRequested(clusterUUID: "c1", uuids: ["a", "b"]) == ["b"])
            #expect(try await store.cancelRequested(clusterUUID: "c2", uuids: ["b"]).isEmpty)
            #expect(try await store.cancelRequested(clusterUUID: "c1", uuids: []).isEmpty)
        }
    }
}
