import ClaiflowCLI
import ClaiflowCore
import Foundation
import Testing

/// Contexts in the configuration file, and which server and key a command uses.
@Suite("CLI contexts")
struct CLIConfigTests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-config-\(Identifier.generate())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("the file lives under XDG_CONFIG_HOME, else ~/.config")
    func path() {
        #expect(CLIConfig.path(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/claiflow/config.yaml")
        #expect(CLIConfig.path(environment: ["HOME": "/h"]) == "/h/.config/claiflow/config.yaml")
        #expect(CLIConfig.path(environment: ["XDG_CONFIG_HOME": "", "HOME": "/h"]) == "/h/.config/claiflow/config.yaml")
    }

    @Test("saved with mode 0600 and read back; a missing file is empty")
    func roundTrip() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/claiflow/config.yaml"
        #expect(try CLIConfig.load(path: path) == CLIConfig())
        var config = CLIConfig(currentContext: "prod")
        config.upsert(CLIContext(name: "prod", server: "https://a", apiKey: "cfk_a"))
        config.upsert(CLIContext(name: "dev", server: "http://b", apiKey: "cfk_b"))
        config.upsert(CLIContext(name: "prod", server: "https://c", apiKey: "cfk_c"))
        try config.save(path: path)
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        let read = try CLIConfig.load(path: path)
        #expect(read == config)
        #expect(read.contexts.map(\.name) == ["prod", "dev"])
        #expect(read.context(named: "prod")?.server == "https://c")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("current-context: prod") && text.contains("api-key: cfk_c"))
    }

    @Test("flags win over the environment, which wins over the context")
    func precedence() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = CLIConfig(currentContext: "prod")
        config.upsert(CLIContext(name: "prod", server: "https://prod", apiKey: "cfk_prod"))
        config.upsert(CLIContext(name: "dev", server: "https://dev", apiKey: "cfk_dev"))
        try config.save(path: dir + "/claiflow/config.yaml")
        let env = ["XDG_CONFIG_HOME": dir]

        let fromContext = try CLIConnectionOptions().resolve(environment: env)
        #expect(fromContext.server == "https://prod" && fromContext.apiKey == "cfk_prod")
        let named = try CLIConnectionOptions(context: "dev").resolve(environment: env)
        #expect(named.server == "https://dev" && named.apiKey == "cfk_dev")
        let fromEnv = try CLIConnectionOptions().resolve(
            environment: env.merging(["CLAIFLOW_SERVER": "http://env", "CLAIFLOW_API_KEY": "cfk_env"]) { $1 })
        #expect(fromEnv.server == "http://env" && fromEnv.apiKey == "cfk_env")
        let mixed = try CLIConnectionOptions(apiKey: "cfk_flag").resolve(
            environment: env.merging(["CLAIFLOW_API_KEY": "cfk_env"]) { $1 })
        #expect(mixed.server == "https://prod" && mixed.apiKey == "cfk_flag")

        let unknown = #expect(throws: CLIError.self) { try CLIConnectionOptions(context: "nope").resolve(environment: env) }
        #expect(unknown?.message.contains("no context \"nope\"") == true)
        #expect(unknown?.exitCode == CLIExitCode.usage)
        let none = #expect(throws: CLIError.self) {
            try CLIConnectionOptions().resolve(environment: ["XDG_CONFIG_HOME": dir + "/empty"])
        }
        #expect(none?.message.contains("claiflow login") == true)
    }
}
