import ClaiflowAgent
import ClaiflowConfiguration
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Agent settings")
struct AgentSettingsTests {
    static let required = [
        "CLAIFLOW_SERVER": "https://claiflow.example.com", "CLAIFLOW_CLUSTER": "c1", "CLAIFLOW_TOKEN": "secret-token",
    ]

    /// The message of the error `body` throws, nil when it throws none.
    static func message(_ body: () throws -> AgentSettings) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? ClaiflowError)?.message ?? "\(error)"
        }
    }

    @Test("docs/agent.md's table has a row for every setting, with its variable, file key and default")
    func documentationTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/agent.md"), encoding: .utf8)
        #expect(SettingsTableCheck.problems(AgentSetting.self, markdown: text) == [])
        let withoutWorkers = text.split(separator: "\n").filter { !$0.hasPrefix("| `--workers`") }.joined(separator: "\n")
        #expect(SettingsTableCheck.problems(AgentSetting.self, markdown: withoutWorkers) == ["no row for --workers"])
    }

    @Test("flags win over the environment, which wins over the file; a blank value counts as unset")
    func precedence() throws {
        let file = ConfigFile(
            name: "agent.yaml", values: ["server": "http://file:1", "workers": "7", "log_level": "debug", "cluster": "f"])
        let s = try AgentSettings.resolve(
            flags: ["cluster": "from-flag", "workers": "  "],
            environment: Self.required.merging(["CLAIFLOW_WORKERS": " 5 "]) { $1 },
            file: file)
        #expect(s.agent.clusterUUID == "from-flag")
        #expect(s.agent.serverURL == "https://claiflow.example.com")
        #expect(s.agent.workers == 5)
        #expect(s.logLevel == .debug)
        #expect(s.kubeconfig == nil)
        let defaults = try AgentSettings.resolve(flags: [:], environment: Self.required, file: nil)
        #expect(defaults.agent.workers == 4 && defaults.logLevel == .info)
        #expect(String(defaults.agent.workers) == AgentSetting.workers.documentedDefault)
        #expect(defaults.logLevel.rawValue == AgentSetting.logLevel.documentedDefault)
    }

    @Test("invalid or missing values are refused with the setting's name")
    func errors() {
        #expect(
            Self.message { try AgentSettings.resolve(flags: ["server": "http://x", "token": "t"], environment: [:], file: nil) }
                == "missing --cluster (or CLAIFLOW_CLUSTER, or cluster: in the config file)")
        #expect(
            Self.message { try AgentSettings.resolve(flags: ["workers": "0"], environment: Self.required, file: nil) }
                == "workers: must be a whole number from 1 to 1000, got \"0\"")
        #expect(
            Self.message { try AgentSettings.resolve(flags: ["log_level": "loud"], environment: Self.required, file: nil) }
                == "log-level: must be trace, debug, info, notice, warning, error or critical, got \"loud\"")
        #expect(
            Self.message {
                try AgentSettings.resolve(flags: ["kubeconfig": "/nonexistent/kubeconfig"], environment: Self.required, file: nil)
            }
                == "kubeconfig: cannot read /nonexistent/kubeconfig")
        #expect(
            Self.message { try AgentSettings.resolve(flags: ["server": "ftp://x"], environment: Self.required, file: nil) }?
                .hasPrefix("server: ") == true)
        let unknown = ConfigFile(name: "agent.yaml", values: ["workerz": "2", "token": "t"])
        #expect(
            Self.message { try AgentSettings.resolve(flags: [:], environment: Self.required, file: unknown) }
                == "config file agent.yaml: unknown key \"workerz\" (known: cluster, health_port, kubeconfig, log_level, server, token, workers)"
        )
    }

    @Test("health_port: off by default, a port from 1 to 65535 or off, anything else refused")
    func healthPort() throws {
        #expect(try AgentSettings.resolve(flags: [:], environment: Self.required, file: nil).healthPort == nil)
        let set = try AgentSettings.resolve(
            flags: [:], environment: Self.required.merging(["CLAIFLOW_HEALTH_PORT": "8098"]) { $1 }, file: nil)
        #expect(set.healthPort == 8098)
        #expect(try AgentSettings.resolve(flags: ["health_port": "OFF"], environment: Self.required, file: nil).healthPort == nil)
        for bad in ["0", "65536", "http"] {
            #expect(
                Self.message { try AgentSettings.resolve(flags: ["health_port": bad], environment: Self.required, file: nil) }
                    == "health-port: must be a port from 1 to 65535 or off, got \"\(bad)\"")
        }
    }

    @Test("the start-up description lists every setting and masks the token")
    func redacted() throws {
        let s = try AgentSettings.resolve(flags: [:], environment: Self.required, file: nil)
        #expect(s.redactedDescription.map(\.0) == AgentSetting.allCases.map(\.key))
        let text = s.redactedDescription.map { "\($0)=\($1)" }.joined(separator: " ")
        #expect(!text.contains("secret-token"))
        #expect(text.contains("token=********"))
    }
}
