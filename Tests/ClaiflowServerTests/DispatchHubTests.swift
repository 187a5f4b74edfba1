import ClaiflowServer
import Testing

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
}
