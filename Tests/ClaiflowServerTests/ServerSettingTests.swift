import ClaiflowConfiguration
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Server settings")
struct ServerSettingTests {
    /// The repository's README.md, found from this file's path.
    static func readme() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }

    /// A YAML file in a fresh temporary directory.
    static func file(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("claiflow.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the README's configuration table has a row for every setting, with its variable, file key and default")
    func readmeTable() throws {
        let text = try Self.readme()
        #expect(SettingsTableCheck.problems(ServerSetting.self, markdown: text) == [])
        // The check itself fails on a table that misses a setting.
        let withoutRetention = text.split(separator: "\n").filter { !$0.hasPrefix("| `--retention`") }.joined(separator: "\n")
        #expect(SettingsTableCheck.problems(ServerSetting.self, markdown: withoutRetention) == ["no row for --retention"])
    }

    @Test("every documented default that is a value is the configuration's default")
    func documentedDefaults() throws {
        let defaults = ServerConfiguration()
        var checked: [ServerSetting] = []
        for setting in ServerSetting.allCases {
            // "none", "generated, …" are not values of their settings.
            guard
                let c = try? ConfigurationResolver.resolve(
                    flags: [setting.key: setting.documentedDefault], environment: [:], file: [:])
            else { continue }
            #expect(setting.loggedValue(in: c) == setting.loggedValue(in: defaults), "\(setting)")
            checked.append(setting)
        }
        #expect(
            checked == [
                .host, .port, .headerTimeout, .idleTimeout, .database, .logLevel, .metricsPublic, .webhookRetryInitial,
                .retention, .grpcPort, .serviceTimeoutGrace, .ui, .uiSessionLifetime, .uiSecureCookie,
            ])
    }

    @Test("names: flag, environment variable and file key of a setting")
    func names() {
        #expect(ServerSetting.adminToken.flag == "--admin-token")
        #expect(ServerSetting.adminToken.environmentName == "CLAIFLOW_ADMIN_TOKEN")
        #expect(ServerSetting.adminToken.key == "admin_token")
        #expect(ConfigurationResolver.keys.count == ServerSetting.allCases.count)
        #expect(ServerSetting.sourcesHelp.contains("CLAIFLOW_GRPC_TLS_KEY") && ServerSetting.sourcesHelp.contains("grpc_tls_key"))
    }

    @Test("a YAML file is read through swift-configuration, below flags and environment")
    func yamlFile() async throws {
        let path = try Self.file(
            """
            # claiflow server
            port: 9002
            host: 127.0.0.2
            metrics_public: true
            retention: off
            log_level: debug
            database: "postgres://u:p@db:5432/claiflow"
            """)
        let file = try await ConfigFile.load(path: path, secretKeys: ConfigurationResolver.secretKeys)
        let c = try ConfigurationResolver.resolve(
            flags: ["port": "9000"], environment: ["CLAIFLOW_HOST": "10.0.0.1", "CLAIFLOW_PORT": "9001"], file: file)
        #expect(c.port == 9000)
        #expect(c.host == "10.0.0.1")
        #expect(c.metricsPublic)
        #expect(c.retention == nil)
        #expect(c.logLevel == .debug)
        #expect(c.database == "postgres://u:p@db:5432/claiflow")
        #expect(throws: ClaiflowError(.invalidArgument, "\(path): port: port must be a number from 0 to 65535, got \"9002x\"")) {
            try ConfigurationResolver.resolve(
                flags: [:], environment: [:], file: ConfigFile(name: path, values: ["port": "9002x"]))
        }
        let fromFile = try ConfigurationResolver.resolve(flags: [:], environment: [:], file: file)
        #expect(fromFile.port == 9002)
    }

    @Test(
        "a YAML file: an unknown key, a list, a non-mapping, bad YAML and a missing file are errors; an empty file is no settings"
    )
    func yamlFileErrors() async throws {
        let unknown = try await ConfigFile.load(path: try Self.file("port: 1\nprot: 2\n"))
        do {
            _ = try ConfigurationResolver.resolve(flags: [:], environment: [:], file: unknown)
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.message.hasPrefix("\(unknown.name): unknown key \"prot\" (known: host, port, "))
        }
        let list = try Self.file("port: [1, 2]\n")
        await #expect(throws: ClaiflowError(.invalidArgument, "config file \(list): every value must be a plain scalar")) {
            try await ConfigFile.load(path: list)
        }
        let sequence = try Self.file("- port\n")
        await #expect(throws: ClaiflowError(.invalidArgument, "config file \(sequence) must be a mapping of key: value")) {
            try await ConfigFile.load(path: sequence)
        }
        await #expect(throws: ClaiflowError.self) { try await ConfigFile.load(path: try Self.file("port: : :\n")) }
        await #expect(throws: ClaiflowError.self) { try await ConfigFile.load(path: "/nonexistent/claiflow.yaml") }
        let empty = try await ConfigFile.load(path: try Self.file("# nothing set\n"))
        #expect(empty.keys == [])
        #expect(try ConfigurationResolver.resolve(flags: [:], environment: [:], file: empty).port == 8099)
    }

    @Test("max_connections, header_timeout and idle_timeout: bounded values, the cap's default from the open-file limit")
    func connectionLimits() throws {
        let c = try ConfigurationResolver.resolve(
            flags: ["max_connections": "50"], environment: ["CLAIFLOW_HEADER_TIMEOUT": "2s", "CLAIFLOW_IDLE_TIMEOUT": "2m"],
            file: [:])
        #expect(c.maxConnections == 50)
        #expect(c.headerTimeout == .seconds(2))
        #expect(c.idleTimeout == .seconds(120))
        #expect(ServerSetting.maxConnections.loggedValue(in: c) == "50")
        for (key, value) in [
            ("max_connections", "0"), ("max_connections", "lots"), ("header_timeout", "10ms"), ("header_timeout", "1h"),
            ("idle_timeout", "500ms"), ("idle_timeout", "25h"),
        ] {
            #expect(throws: ClaiflowError.self, "\(key)=\(value)") {
                try ConfigurationResolver.resolve(flags: [key: value], environment: [:], file: [:])
            }
        }
        let defaults = ServerConfiguration()
        #expect(defaults.maxConnections == nil)
        #expect(ServerSetting.maxConnections.loggedValue(in: defaults).hasSuffix("(¾ of the open-file limit)"))
    }

    @Test("the start-up log lists every setting, secrets masked")
    func startupLog() throws {
        let key = SecretBox.newKey()
        let c = try ConfigurationResolver.resolve(
            flags: ["admin_token": "admin-token-0123456789", "previous_encryption_keys": key],
            environment: ["CLAIFLOW_ENCRYPTION_KEY": key, "CLAIFLOW_DATABASE": "postgres://claiflow:s3cret@db/claiflow"],
            file: [:])
        let logged = c.redactedDescription
        #expect(logged.map(\.0) == ServerSetting.allCases.map(\.key) + ["settings_refresh_interval"])
        let text = logged.map { "\($0)=\($1)" }.joined(separator: " ")
        for secret in ["admin-token-0123456789", key, "s3cret"] { #expect(!text.contains(secret)) }
        #expect(text.contains("encryption_key=********"))
        #expect(text.contains("previous_encryption_keys=1 × ********"))
    }
}
