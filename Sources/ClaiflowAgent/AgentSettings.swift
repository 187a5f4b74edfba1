import ClaiflowConfiguration
import ClaiflowCore
import Foundation
import Logging

/// What `claiflow agent` runs with: the runtime's configuration, the kubeconfig and the log level,
/// resolved from flags, `CLAIFLOW_*` environment variables and the config file (in that order of
/// precedence) through swift-configuration. A blank value counts as unset; values are trimmed.
public struct AgentSettings: Sendable {
    /// The runtime's configuration.
    public var agent: AgentConfiguration
    /// The kubeconfig file (`~` expanded), nil for the default access.
    public var kubeconfig: String?
    /// The log level.
    public var logLevel: Logger.Level
    /// The port of the health endpoint (`/healthz`, `/readyz`), nil when it is off.
    public var healthPort: Int?

    /// Creates settings.
    public init(agent: AgentConfiguration, kubeconfig: String? = nil, logLevel: Logger.Level = .info, healthPort: Int? = nil) {
        self.agent = agent
        self.kubeconfig = kubeconfig
        self.logLevel = logLevel
        self.healthPort = healthPort
    }

    /// The settings as `key=value` pairs for the start-up log, the token masked.
    public var redactedDescription: [(String, String)] {
        AgentSetting.allCases.map { ($0.key, $0.loggedValue(in: self)) }
    }

    /// Resolves and checks the settings.
    ///
    /// - Parameters:
    ///   - flags: The flags given, by file key (`log_level`).
    ///   - environment: The process environment.
    ///   - file: The config file, if one was named.
    ///   - version: The agent's version, sent in the handshake.
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the setting.
    public static func resolve(
        flags: [String: String], environment: [String: String], file: ConfigFile?, version: String = AgentRuntime.libraryVersion
    ) throws(ClaiflowError) -> AgentSettings {
        let reader = SettingsReader<AgentSetting>(flags: flags, environment: environment, file: file, ignoresBlankValues: true)
        if let file, let unknown = reader.unknownFileKeys.sorted().first {
            let known = AgentSetting.allCases.map(\.key).sorted().joined(separator: ", ")
            throw ClaiflowError(.invalidArgument, "config file \(file.name): unknown key \"\(unknown)\" (known: \(known))")
        }
        func required(_ setting: AgentSetting) throws(ClaiflowError) -> String {
            guard let value = try reader.value(setting) else {
                throw ClaiflowError(
                    .invalidArgument,
                    "missing \(setting.flag) (or \(setting.environmentName), or \(setting.key): in the config file)")
            }
            return value.text
        }
        let server = try required(.server)
        let cluster = try required(.cluster)
        let token = try required(.token)
        var agent = AgentConfiguration(serverURL: server, clusterUUID: cluster, token: token, version: version)
        if let w = try reader.value(.workers)?.text {
            guard let n = Int(w), (1...1000).contains(n) else {
                throw ClaiflowError(.invalidArgument, "workers: must be a whole number from 1 to 1000, got \"\(w)\"")
            }
            agent.workers = n
        }
        try agent.validate()
        var level = Logger.Level.info
        if let l = try reader.value(.logLevel)?.text {
            guard let parsed = Logger.Level(rawValue: l.lowercased()) else {
                throw ClaiflowError(
                    .invalidArgument, "log-level: must be trace, debug, info, notice, warning, error or critical, got \"\(l)\"")
            }
            level = parsed
        }
        var healthPort: Int?
        if let p = try reader.value(.healthPort)?.text, p.lowercased() != "off" {
            guard let n = Int(p), (1...65535).contains(n) else {
                throw ClaiflowError(.invalidArgument, "health-port: must be a port from 1 to 65535 or off, got \"\(p)\"")
            }
            healthPort = n
        }
        var kubeconfig = try reader.value(.kubeconfig)?.text
        if let path = kubeconfig {
            let expanded = (path as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: expanded) else {
                throw ClaiflowError(.invalidArgument, "kubeconfig: cannot read \(expanded)")
            }
            kubeconfig = expanded
        }
        return AgentSettings(agent: agent, kubeconfig: kubeconfig, logLevel: level, healthPort: healthPort)
    }
}
