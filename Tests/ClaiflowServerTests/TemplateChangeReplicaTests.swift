import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

@testable import ClaiflowServer

/// Service creates read their template in the insert's transaction and compile it once per
/// content: a template changed or deleted through another replica (another `Store` on the same
/// database) is what the next create on this one uses. SQLite and a real PostgreSQL.
@Suite("Service creates see template changes at once")
struct TemplateChangeReplicaTests {
    static let oneStep = JSONValue.array([.object(["$id": .string("s1"), "$command": .string("echo")])])
    static let twoSteps = JSONValue.array([
        .object(["$id": .string("s1"), "$command": .string("echo")]),
        .object(["$id": .string("s2"), "$command": .string("echo")]),
    ])
    static let needsA = JSONValue.object(["type": .string("object"), "required": .array([.string("a")])])
    static let needsB = JSONValue.object(["type": .string("object"), "required": .array([.string("b")])])

    /// Two replicas over one new database of `kind`, with cluster `c1` and template `t1`
    /// (one step, inputs need `a`).
    static func withReplicas(
        _ kind: StoreKind, _ body: (ServiceUseCases, ServiceUseCases, Store) async throws -> Void
    ) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
        let one = try Store.open(url: url, logger: StoreFixture.logger)
        let two = try Store.open(url: url, logger: StoreFixture.logger)
        do {
            try await one.migrate()
            let now = Timestamp.now()
            try await one.insertCluster(Cluster(uuid: "c1", name: "c1", summary: nil, created: now, updated: now))
            let a = ServiceUseCases(store: one, checker: DefaultFlowChecker())
            let b = ServiceUseCases(store: two, checker: DefaultFlowChecker())
            _ = try await b.createTemplate(
                uuid: "t1", name: "t", summary: nil, flow: oneStep, inputs: needsA, origin: "userdefined")
            try await body(a, b, one)
        } catch {
            await one.close()
            await two.close()
            try? await cleanup()
            throw error
        }
        await one.close()
        await two.close()
        try await cleanup()
    }

    static func create(_ u: ServiceUseCases, _ uuid: String, _ inputs: JSONValue) async throws -> Service {
        let created = try await u.createServices(
            .init(clusterUUIDs: ["c1"], uuid: uuid, templateUUID: "t1", inputs: inputs))
        return try #require(created.first).service
    }

    @Test("a schema and flow changed on another replica apply to the next create", arguments: StoreKind.available)
    func updated(kind: StoreKind) async throws {
        try await Self.withReplicas(kind) { a, b, _ in
            let first = try await Self.create(a, "s1", .object(["a": .integer(1)]))
            #expect(first.stepMax == 1)
            _ = try await b.updateTemplate(
                uuid: "t1", name: nil, summary: nil, flow: Self.twoSteps, inputs: Self.needsB, origin: nil)
            let refused = await #expect(throws: ClaiflowError.self) {
                try await Self.create(a, "s2", .object(["a": .integer(1)]))
            }
            #expect(refused?.kind == .invalidArgument)
            #expect(refused?.message.hasPrefix("field \"inputs\": does not match the template's schema") == true)
            let second = try await Self.create(a, "s3", .object(["b": .integer(1)]))
            #expect(second.stepMax == 2)
            #expect(second.flow == Self.twoSteps.serialized())
        }
    }

    @Test("a template deleted on another replica is a 400 naming template_uuid", arguments: StoreKind.available)
    func deleted(kind: StoreKind) async throws {
        try await Self.withReplicas(kind) { a, b, store in
            _ = try await Self.create(a, "s1", .object(["a": .integer(1)]))
            try await b.deleteTemplate(uuid: "t1", force: false)
            await #expect(throws: ClaiflowError.invalidField("template_uuid", "template \"t1\" does not exist")) {
                try await Self.create(a, "s2", .object(["a": .integer(1)]))
            }
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "s2") == nil)
        }
    }

    @Test("a create that fails inside the insert's transaction leaves nothing", arguments: StoreKind.available)
    func failedInsideTransaction(kind: StoreKind) async throws {
        try await Self.withReplicas(kind) { a, _, store in
            await #expect(throws: ClaiflowError.self) {
                try await Self.create(a, "bad", .object(["b": .integer(1)]))
            }
            #expect(try await store.serviceDetail(clusterUUID: "c1", uuid: "bad") == nil)
            await #expect(throws: ClaiflowError.invalidField("cluster_uuid", "cluster \"c9\" does not exist")) {
                try await a.createServices(
                    .init(clusterUUIDs: ["c9"], uuid: "x", templateUUID: "t1", inputs: .object(["a": .integer(1)])))
            }
            _ = try await Self.create(a, "s1", .object(["a": .integer(1)]))
            await #expect(throws: ClaiflowError(.conflict, "service \"s1\" already exists on cluster \"c1\"")) {
                try await Self.create(a, "s1", .object(["a": .integer(1)]))
            }
        }
    }
}
