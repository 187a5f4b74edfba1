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

    /// Limits that make the tests quick.
    static let quick = EventPublisher.Limits(
        sendTimeout: .seconds(30), retries: 3, backoff: .milliseconds(1), maxQueuedStatus: 10_000, maxPayloadsPerSend: 500)

    /// A send that fails with `failure` for its first `failures` calls and records every call.
    final class FailingSend: Sendable {
        let calls = Mutex<[[String]]>([])
        let failures: Int
        let failure: @Sendable () -> any Error

        init(failures: Int, failure: @escaping @Sendable () -> any Error) {
            self.failures = failures
            self.failure = failure
        }

        func send(_ payloads: [String]) throws {
            let n = calls.withLock { c in
                c.append(payloads)
                return c.count
            }
            if n <= failures { throw failure() }
        }
    }

    @Test("a send that fails for its connection runs again, ahead of newer events, and its events go out once")
    func retriesUnavailable() async throws {
        let recorder = FailingSend(failures: 2) { EventPublisher.Unavailable(description: "connection reset") }
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: Self.quick) { try recorder.send($0) }
        publisher.enqueue([.wake(cluster: "a")])
        publisher.enqueue([.wake(cluster: "b")])
        await publisher.flush()
        publisher.enqueue([.wake(cluster: "c")])
        await publisher.flush()
        let calls = recorder.calls.withLock { $0 }
        #expect(calls.first == ["wake:a"] || calls.first == ["wake:a", "wake:b"])
        #expect(calls.count >= 4)
        #expect(calls.last == ["wake:c"])
        #expect(Set(calls.flatMap { $0 }) == ["wake:a", "wake:b", "wake:c"])
        #expect(!calls.flatMap { $0 }.contains { $0.hasPrefix("missed:") })
        let counts = publisher.counts
        #expect(counts.failed == 2)
        #expect(counts.dropped == 0)
        #expect(counts.published == 3)
    }

    @Test("a send that keeps failing is dropped after its retries; the next publish first says events were missed")
    func dropsAfterRetries() async throws {
        let recorder = FailingSend(failures: 4) { EventPublisher.Unavailable(description: "pool closed") }
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: Self.quick) { try recorder.send($0) }
        publisher.enqueue([
            .wake(cluster: "a"), .status([StatusEvent(topic: .service, uuid: "s1", cluster: "a", status: "regist")]),
        ])
        await publisher.flush()
        #expect(recorder.calls.withLock { $0.count } == 4)
        #expect(publisher.counts.dropped == 2)
        publisher.enqueue([.wake(cluster: "b")])
        await publisher.flush()
        #expect(
            recorder.calls.withLock { $0.last } == [DispatchEvent.eventsMissed(replica: publisher.replica).payload, "wake:b"])
        #expect(DispatchEvent(payload: "missed:\(publisher.replica)") == .eventsMissed(replica: publisher.replica))
        // Said once.
        publisher.enqueue([.wake(cluster: "c")])
        await publisher.flush()
        #expect(recorder.calls.withLock { $0.last } == ["wake:c"])
    }

    @Test("an error PostgreSQL answered the statement with is not sent again")
    func noRetryOfStatementErrors() async throws {
        let recorder = FailingSend(failures: 1) { StoreError.database("22023 payload string too long") }
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: Self.quick) { try recorder.send($0) }
        publisher.enqueue([.wake(cluster: "a")])
        await publisher.flush()
        #expect(recorder.calls.withLock { $0.count } == 1)
        #expect(publisher.counts == (published: 0, failed: 1, dropped: 1))
    }

    @Test("a send with no answer within its timeout counts as failed and runs again")
    func sendTimeout() async throws {
        let calls = Atomic<Int>(0)
        var limits = Self.quick
        limits.sendTimeout = .milliseconds(50)
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: limits) { _ in
            if calls.add(1, ordering: .relaxed).newValue == 1 {
                // Hangs (until the publisher gives up on it and cancels it).
                try await Task.sleep(for: .seconds(3600))
            }
        }
        publisher.enqueue([.wake(cluster: "a")])
        await publisher.flush()
        #expect(calls.load(ordering: .relaxed) == 2)
        #expect(publisher.counts == (published: 1, failed: 1, dropped: 0))
    }

    @Test(
        "a backlog goes out in statements of at most the limit's payloads; the oldest waiting status events are dropped beyond the cap"
    )
    func bounds() async throws {
        let recorder = GatedSend()
        var limits = Self.quick
        limits.maxPayloadsPerSend = 2
        limits.maxQueuedStatus = 3
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: limits) { await recorder.send($0) }
        publisher.enqueue([.wake(cluster: "first")])
        #expect(try await waitUntil { recorder.batches.withLock { $0.count } == 1 })
        publisher.enqueue((0..<3).map { .wake(cluster: "w\($0)") })
        publisher.enqueue([
            .status((0..<5).map { StatusEvent(topic: .service, uuid: "s\($0)", cluster: "c", status: "regist") })
        ])
        recorder.open()
        await publisher.flush()
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.count == 3)
        #expect(batches.dropFirst().map(\.count) == [2, 2])
        #expect(batches.last?.last == "status:service s2 c regist\nservice s3 c regist\nservice s4 c regist")
        #expect(publisher.counts == (published: 7, failed: 0, dropped: 2))
        #expect(publisher.publishes == 3)
    }

    @Test("closing waits for a publish at most its timeout, then drops what was not sent")
    func closeTimeout() async throws {
        let recorder = GatedSend()
        let publisher = EventPublisher(logger: StoreFixture.logger, limits: Self.quick) { await recorder.send($0) }
        publisher.enqueue([.wake(cluster: "a")])
        #expect(try await waitUntil { recorder.batches.withLock { $0.count } == 1 })
        publisher.enqueue([.wake(cluster: "b"), .wake(cluster: "c")])
        #expect(await publisher.close(waiting: .milliseconds(50)) == 3)
        publisher.enqueue([.wake(cluster: "d")])
        recorder.open()
        await publisher.flush()
        #expect(recorder.batches.withLock { $0 } == [["wake:a"]])
    }

    @Test("PostgreSQL: a send on a closed pool is unavailable (sent again), one PostgreSQL refuses is not")
    func postgresFailures() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
        let pg = try PostgresDatabase(url: url, logger: StoreFixture.logger)
        await #expect(throws: StoreError.self) {
            try await pg.notify(channel: Store.eventChannel, [String(repeating: "x", count: 9_000)])
        }
        try await pg.notify(channel: Store.eventChannel, ["wake:a"])
        await pg.close()
        await #expect(throws: EventPublisher.Unavailable.self) { try await pg.notify(channel: Store.eventChannel, ["wake:a"]) }
        try await cleanup()
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
