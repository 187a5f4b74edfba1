import ClaiflowCore
import Testing

@Suite("Agent versions and service timeouts")
struct AgentVersionTests {
    @Test("the original agent's library version does not run v2 flows; ours does")
    func runsFlowV2() {
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: "0.1.0"))  // the original's constant
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: "0.2.0"))
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: nil))
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: ""))
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: "dev"))
        #expect(!AgentVersion.runsFlowV2(clientLibVersion: "v1"))
        #expect(AgentVersion.runsFlowV2(clientLibVersion: "0.3.0"))
        #expect(AgentVersion.runsFlowV2(clientLibVersion: "v0.3"))
        #expect(AgentVersion.runsFlowV2(clientLibVersion: "0.10.1-rc1"))
        #expect(AgentVersion.runsFlowV2(clientLibVersion: "1.0.0"))
        #expect(AgentVersion(parsing: "1.2.3+build") == AgentVersion(major: 1, minor: 2, patch: 3))
        #expect(AgentVersion(parsing: "1.2.x") == nil)
        #expect(AgentVersion.flowV2WaitMessage.contains("needs a claiflow agent ≥ 0.3.0"))
    }

    @Test("a timeout is a duration string from 1s to 366 days; anything else is a 400 naming the field")
    func timeoutParsing() throws {
        #expect(try ServiceTimeout.parse(.string("10m"))?.duration == .seconds(600))
        #expect(try ServiceTimeout.parse(nil) == nil)
        #expect(try ServiceTimeout.parse(.null) == nil)
        for bad: JSONValue in [.string("abc"), .integer(10), .string("0s"), .string("500ms"), .string("8785h"), .string("-5m")] {
            #expect(throws: ClaiflowError.self) { try ServiceTimeout.parse(bad) }
            do {
                _ = try ServiceTimeout.parse(bad)
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("\"timeout\""), "\(error.message)")
            }
        }
    }

    @Test("a timeout shows as Go writes it, without trailing zero units")
    func timeoutText() throws {
        #expect(try #require(ServiceTimeout(.seconds(600))).description == "10m")
        #expect(try #require(ServiceTimeout(.seconds(7200))).description == "2h")
        #expect(try #require(ServiceTimeout(.seconds(90))).description == "1m30s")
        #expect(try #require(ServiceTimeout(.seconds(5400))).description == "1h30m")
        #expect(try #require(ServiceTimeout(GoDuration(nanoseconds: 1_500_000_000))).description == "1.5s")
        #expect(try #require(ServiceTimeout(microseconds: 600_000_000)).duration == .seconds(600))
        #expect(ServiceTimeout(microseconds: 0) == nil)
    }
}
