/// A setting of a `claiflow` command, named the same way in every source: the config file key
/// (`admin_token`, the raw value), the flag (`--admin-token`) and the environment variable
/// (`CLAIFLOW_ADMIN_TOKEN`).
///
/// A command's settings are one enum conforming to this protocol; its cases, in the order of
/// the documentation's table, feed the command's flags, its help text, the lookups of a
/// ``SettingsReader`` and the start-up log.
public protocol ConfigurationSetting: RawRepresentable, CaseIterable, Hashable, Sendable
where RawValue == String, AllCases == [Self] {
    /// One line of help, without the default (``documentedDefault`` is added by the help text).
    var help: String { get }
    /// The default as the documentation's table shows it (`8099`, `none`, `off`, `required`).
    var documentedDefault: String { get }
    /// Whether the value is a secret: masked in logs and in swift-configuration's access events.
    var isSecret: Bool { get }
}

extension ConfigurationSetting {
    /// The config file key: `admin_token`.
    public var key: String { rawValue }
    /// The flag's name without dashes: `admin-token`.
    public var flagName: String { key.replacingOccurrences(of: "_", with: "-") }
    /// The flag: `--admin-token`.
    public var flag: String { "--" + flagName }
    /// The environment variable: `CLAIFLOW_ADMIN_TOKEN`.
    public var environmentName: String { ConfigurationSources.environmentPrefix + key.uppercased() }

    /// The paragraph of a command's help that lists every environment variable and file key.
    public static var sourcesHelp: String {
        let names = allCases.map(\.environmentName).joined(separator: ", ")
        let keys = allCases.map(\.key).joined(separator: ", ")
        return """
            Every option can also be set by an environment variable (\(names)) or in a YAML config file \
            (\(ConfigurationSources.configFlag) FILE or \(ConfigurationSources.configEnvironmentName); keys \(keys)). \
            Flags win over the environment, which wins over the file, which wins over the defaults.
            """
    }
}

extension ConfigurationSetting {
    /// The flags given, by file key, from a command's accessor of each setting's flag.
    public static func flagValues(_ flag: (Self) -> String?) -> [String: String] {
        var values: [String: String] = [:]
        for setting in allCases {
            if let value = flag(setting) { values[setting.key] = value }
        }
        return values
    }
}
