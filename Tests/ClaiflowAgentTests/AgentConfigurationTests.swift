import AsyncHTTPClient
import ClaiflowAgent
import ClaiflowCore
import Logging
import Testing

@Suite("Agent configuration")
struct AgentConfigurationTests {
    static func valid() -> AgentConfiguration {
        AgentConfiguration(serverURL: "https://claiflow.example.com/", clusterUUID: "c1", token: "secret-token-value")
    }

    @Test("defaults")
    func defaults() {
        let c = Self.valid()
        #expect(c.workers == 4)
        #expect(c.pollWait == .seconds(30))
        #expect(c.shutdownGrace == .seconds(30))
        #expect(c.keepAliveInterval == .seconds(15))
        #expect(c.libraryVersion == AgentRuntime.libraryVersion)
        #expect(throws: Never.self) { try c.validate() }
    }

    @Test("the description never shows the token")
    func redacted() {
        let c = Self.valid()
        #expect(!c.description.contains("secret-token-value"))
        #expect(c.description.contains("claiflow.example.com"))
    }

    @Test(
        "invalid values are refused with the setting's name",
        arguments: [
            "server:ftp://x", "server:claiflow:8099", "server:", "cluster", "token", "workers", "pollWait", "shutdownGrace",
        ])
    func invalid(case name: String) {
        var c = Self.valid()
        let setting = String(name.prefix { $0 != ":" })
        switch setting {
        case "server": c.serverURL = String(name.dropFirst("server:".count))
        case "cluster": c.clusterUUID = ""
        case "token": c.token = ""
        case "workers": c.workers = 0
        case "pollWait": c.pollWait = .zero
        default: c.shutdownGrace = .seconds(-1)
        }
        do {
            try c.validate()
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.message.hasPrefix(setting), "\(error.message)")
        }
    }

    @Test("run() refuses an invalid configuration, and runs only once")
    func runOnce() async throws {
        var bad = Self.valid()
        bad.workers = 0
        let runtime = AgentRuntime(configuration: bad, commands: [:], httpClient: HTTPClient.shared, logger: Logger(label: "t"))
        await #expect(throws: ClaiflowError.self) { try await runtime.run() }

        let stopped = AgentRuntime(
            configuration: Self.valid(), commands: [:], httpClient: HTTPClient.shared, logger: Logger(label: "t"))
        stopped.stop()
        try await stopped.run()  // stopped before it ran: returns at once
        await #expect(throws: ClaiflowError.self) { try await stopped.run() }
    }

    @Test("system commands")
    func systemCommands() {
        #expect(AgentRuntime.systemCommandNames == ["claiflow.client_pod.rebounce", "claiflow.client.upgrade"])
    }
}
