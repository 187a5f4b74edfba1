import ClaiflowCore
import ClaiflowTestSupport
import Synchronization
import Testing

@testable import ClaiflowStore

/// The events of commits, published after them by one publisher per replica (PostgreSQL
/// `NOTIFY` out of the write transactions), coalesced while a publish runs.
@Suite("Event publisher")
struct EventPublisherTests {
    /// Records the payloads each send was given; the first send waits until `open()`.
    final class GatedSend: Sendable {
        let batches = Mutex<[[String]]>([])
        private let gate: AsyncStream<Void>
        private let opener: AsyncStream<Void>.Continuation

        init() { (gate, opener) = AsyncStream.makeStream() }

        func open() { opener.yield() }

        func send(_ payloads: [String]) async {
            let first = batches.withLock { b in
                b.append(payloads)
                return b.count == 1
            }
            if first {
                for await _ in gate { break }
            }
        }
    }

    @Test("events queued while a publish runs go out together in the next one, each payload once")
    func coalesces() async throws {
        let recorder = GatedSend()
        let publisher = EventPublisher(logger: StoreFixture.logger) { await recorder.send($0) }
        publisher.enqueue([.wake(cluster: "a")])
        #expect(try await waitUntil { recorder.batches.withLock { $0.count } == 1 })
        publisher.enqueue([.wake(cluster: "b"), .cancel(cluster: "c")])
        publisher.enqueue([
            .wake(cluster: "b"), .status([StatusEvent(topic: .cluster, uuid: "c1", cluster: "c1", status: "created")]),
        ])
        publisher.enqueue([.status([StatusEvent(topic: .service, uuid: "s1", cluster: "c1", status: "regist")])])
        recorder.open()
        await publisher.flush()
        #expect(
            recorder.batches.withLock { $0 } == [
                ["wake:a"], ["wake:b", "cancel:c", "status:cluster c1 c1 created\nservice s1 c1 regist"],
            ])
        #expect(publisher.publishes == 2)
        // Idle again: the next event starts a publish of its own.
        publisher.enqueue([.wake(cluster: "d")])
        await publisher.flush()
        #expect(recorder.batches.withLock { $0.last } == ["wake:d"])
    }

    static func service(_ uuid: String, cluster: String) -> Service {
        let now = Timestamp.now()
        return Service(
            clusterUUID: cluster, uuid: uuid, name: uuid, summary: nil, templateUUID: "", flow: "[]", inputs: "null", stepMax: 1,
            priority: 0, webhook: nil, status: .regist, stepSeq: 0, cancelRequested: false, created: now, updated: now)
    }

    static func cluster(_ uuid: String) -> Cluster {
        let now = Timestamp.now()
        return Cluster(uuid: uuid, name: uuid, summary: nil, created: now, updated: now)
    }

    /// Runs `body` with a store on a fresh PostgreSQL database and the events a second store on
    /// the same database (another replica) hears.
    func withReplicas(_ body: (Store, @escaping @Sendable () -> [DispatchEvent]) async throws -> Void) async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
        let store = try Store.open(url: url, logger: StoreFixture.logger)
        let other = try Store.open(url: url, logger: StoreFixture.logger)
        let heard = Mutex<[DispatchEvent]>([])
        let listening = Atomic<Bool>(false)
        let listener = Task {
            await other.listenForEvents(logger: StoreFixture.logger, onConnect: { listening.store(true, ordering: .relaxed) }) {
                event in heard.withLock { $0.append(event) }
            }
        }
        do {
            try await store.migrate()
            #expect(try await waitUntil { listening.load(ordering: .relaxed) })
            try await body(store) { heard.withLock { $0 } }
        } catch {
            listener.cancel()
            await store.close()
            await other.close()
            try? await cleanup()
            throw error
        }
        listener.cancel()
        await store.close()
        await other.close()
        try await cleanup()
    }

    @Test("PostgreSQL: a commit's wake-up and status events reach another replica; a rolled-back one sends none")
    func afterCommitOnly() async throws {
        try await withReplicas { store, heard in
            await #expect(throws: ClaiflowError.self) { try await store.insertServices([Self.service("s0", cluster: "gone")]) }
            try await store.insertCluster(Self.cluster("c1"))
            try await store.insertServices([Self.service("s1", cluster: "c1")])
            #expect(try await waitUntil { heard().contains(.wake(cluster: "c1")) })
            func statuses() -> [StatusEvent] {
                heard().flatMap { e -> [StatusEvent] in
                    if case .status(let list) = e { return list }
                    return []
                }
            }
            #expect(
                try await waitUntil {
                    statuses().contains(StatusEvent(topic: .cluster, uuid: "c1", cluster: "c1", status: "created"))
                        && statuses().contains(StatusEvent(topic: .service, uuid: "s1", cluster: "c1", status: "regist"))
                })
            // The failed create's events would have been published before these (one publisher, in order).
            #expect(!heard().contains(.wake(cluster: "gone")))
            #expect(!statuses().contains { $0.uuid == "s0" })
            #expect(store.eventPublishes >= 1)
        }
    }

    @Test("PostgreSQL: the events of 40 concurrent creates all reach another replica")
    func concurrentCreates() async throws {
        try await withReplicas { store, heard in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        try await store.insertCluster(Self.cluster("k\(i)"))
                        try await store.insertServices([Self.service("s\(i)", cluster: "k\(i)")])
                    }
                }
                try await group.waitForAll()
            }
            let all = try await waitUntil {
                let events = heard()
                let wakes = Set(
                    events.compactMap { e -> String? in
                        if case .wake(let c) = e { return c }
                        return nil
                    })
                let created = Set(
                    events.flatMap { e -> [String] in
                        if case .status(let list) = e { return list.filter { $0.topic == .cluster }.map(\.uuid) }
                        return []
                    })
                let wanted = Set((0..<40).map { "k\($0)" })
                return wakes == wanted && created == wanted
            }
            #expect(all)
        }
    }
}
