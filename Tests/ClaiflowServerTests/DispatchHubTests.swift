import ClaiflowTestSupport
import Synchronization
import Testing

@testable import ClaiflowServer

@Suite("Dispatch hub")
struct DispatchHubTests {
    @Test("a wait whose task is already cancelled does not park")
    func cancelledBeforeParking() async {
        let hub = DispatchHub()
        let wake = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await hub.wait(cluster: "c1", tokenUUID: "t", generation: hub.generation(of: "c1"), timeout: .seconds(60))
        }.value
        #expect(wake == .shutdown)
        #expect(hub.parkedCount == 0)
    }

    @Test("a parked wait ends on cancel, on a wake-up, on revocation and at its timeout")
    func endings() async throws {
        let hub = DispatchHub()
        let parked = Task { await hub.wait(cluster: "c1", tokenUUID: "t", generation: 0, timeout: .seconds(60)) }
        while hub.parkedCount == 0 { await Task.yield() }
        parked.cancel()
        #expect(await parked.value == .shutdown)
        #expect(hub.parkedCount == 0)

        async let woken = hub.wait(cluster: "c1", tokenUUID: "t", generation: 0, timeout: .seconds(60))
        while hub.parkedCount == 0 { await Task.yield() }
        hub.wake(clusters: ["c1"])
        #expect(await woken == .work)

        let generation = hub.generation(of: "c1")
        #expect(await hub.wait(cluster: "c1", tokenUUID: "t", generation: generation - 1, timeout: .seconds(60)) == .work)
        async let revoked = hub.wait(cluster: "c1", tokenUUID: "t", generation: generation, timeout: .seconds(60))
        while hub.parkedCount == 0 { await Task.yield() }
        hub.revoke(tokenUUID: "t")
        #expect(await revoked == .revoked)
        #expect(await hub.wait(cluster: "c1", tokenUUID: "t", generation: generation, timeout: .milliseconds(20)) == .timeout)
        #expect(hub.parkedCount == 0)
    }

    @Test("a wait ended through its handle returns .shutdown, whether it was parked or not yet")
    func endedThroughHandle() async throws {
        let hub = DispatchHub()
        let early = WaitHandle()
        hub.end(early)
        #expect(await hub.wait(cluster: "c1", tokenUUID: "t", generation: 0, timeout: .seconds(60), handle: early) == .shutdown)
        #expect(hub.parkedCount == 0)

        let handle = WaitHandle()
        async let parked = hub.wait(cluster: "c1", tokenUUID: "t", generation: 0, timeout: .seconds(60), handle: handle)
        #expect(try await waitUntil(timeout: .seconds(10)) { hub.parkedCount == 1 })
        hub.end(handle)
        #expect(await parked == .shutdown)
        #expect(hub.parkedCount == 0)
        // Ending it again (a late graceful-shutdown handler) changes nothing.
        hub.end(handle)
    }

    @Test("many parked waits each end at their own timeout, the shortest first")
    func timeouts() async {
        let hub = DispatchHub()
        let order = await withTaskGroup(of: Int.self) { g in
            for (i, ms) in [300, 50, 150].enumerated() {
                g.addTask {
                    _ = await hub.wait(cluster: "c\(i)", tokenUUID: "t", generation: 0, timeout: .milliseconds(ms))
                    return ms
                }
            }
            return await g.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(order == [50, 150, 300])
        #expect(hub.parkedCount == 0)
    }

    @Test("a long poll's wait is shortened at random by up to a tenth, a short one is kept")
    func jitteredWait() {
        let waits = (0..<200).map { _ in AgentUseCases.jittered(.seconds(30)) }
        #expect(waits.allSatisfy { $0 >= .seconds(27) && $0 <= .seconds(30) })
        #expect(Set(waits).count > 1)
        #expect(AgentUseCases.jittered(.seconds(5)) == .seconds(5))
    }

    @Test("a known-empty mark holds until a wake-up or until its lifetime has passed, whichever comes first")
    func emptyMarkLifetime() {
        let start = ContinuousClock.now
        let elapsed = Mutex<Duration>(.zero)
        let hub = DispatchHub(emptyMarkLifetime: .seconds(30), now: { start + elapsed.withLock { $0 } })
        hub.markEmpty("c1", generation: hub.generation(of: "c1"))
        hub.markEmpty("c2", generation: hub.generation(of: "c2"), runsFlowV2: false)
        #expect(hub.isKnownEmpty("c1"))
        #expect(hub.isKnownEmpty("c2", runsFlowV2: false))
        #expect(!hub.isKnownEmpty("c2"))
        elapsed.withLock { $0 = .seconds(29) }
        #expect(hub.isKnownEmpty("c1"))
        #expect(hub.isKnownEmpty("c2", runsFlowV2: false))
        // A wake-up that was lost (no `wake`) costs at most the lifetime: then polls look again.
        elapsed.withLock { $0 = .seconds(30) }
        #expect(!hub.isKnownEmpty("c1"))
        #expect(!hub.isKnownEmpty("c2", runsFlowV2: false))
        // A new mark holds for a lifetime of its own; a wake-up ends it at once.
        hub.markEmpty("c1", generation: hub.generation(of: "c1"))
        #expect(hub.isKnownEmpty("c1"))
        hub.wake(clusters: ["c1"])
        #expect(!hub.isKnownEmpty("c1"))
    }
}
