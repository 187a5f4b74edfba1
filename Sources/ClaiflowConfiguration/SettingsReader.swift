import ClaiflowCore
import Configuration

/// Reads a command's settings through a swift-configuration `ConfigReader` whose providers are,
/// in order of precedence: the flags given, the `CLAIFLOW_*` environment variables, the config
/// file. A value comes back with its source (`--port`, `CLAIFLOW_PORT`, `claiflow.yaml: port`),
/// which the reader learns from the access event of the lookup, so that a bad value's error
/// names where to fix it. Unset settings keep the command's defaults.
public struct SettingsReader<Setting: ConfigurationSetting>: Sendable {
    private let reader: ConfigReader
    private let recorder = AccessRecorder()
    private let file: ConfigFile?
    private let ignoresBlankValues: Bool

    /// Creates a reader.
    ///
    /// - Parameters:
    ///   - flags: The flags given, by setting key (`admin_token`).
    ///   - environment: The process environment.
    ///   - file: The config file, if one was named.
    ///   - ignoresBlankValues: Whether a blank value counts as unset (and values are trimmed), so
    ///     that a blank flag falls through to the environment and the file.
    public init(flags: [String: String], environment: [String: String], file: ConfigFile?, ignoresBlankValues: Bool = false) {
        func keep(_ value: String) -> Bool { !ignoresBlankValues || !value.trimmingCharacters(in: .whitespaces).isEmpty }
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags where keep(value) {
            flagValues[AbsoluteConfigKey([key])] = ConfigValue(
                .string(value), isSecret: Setting(rawValue: key)?.isSecret ?? false)
        }
        let secretVariables = Set(Setting.allCases.filter(\.isSecret).map(\.environmentName))
        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: environment.filter { keep($0.value) }, secretsSpecifier: .specific(secretVariables)
        ).prefixKeys(with: ConfigKey([ConfigurationSources.environmentScope]))
        var providers: [any ConfigProvider] = [InMemoryProvider(name: "flags", values: flagValues), environmentProvider]
        if let file { providers.append(file.provider) }
        reader = ConfigReader(providers: providers, accessReporter: recorder)
        self.file = file
        self.ignoresBlankValues = ignoresBlankValues
    }

    /// The config file's keys that are not settings, in file order.
    public var unknownFileKeys: [String] {
        (file?.keys ?? []).filter { Setting(rawValue: $0) == nil }
    }

    /// A setting's value and its source; nil when no source sets it.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` when a source holds a value that cannot be read
    ///   as text.
    public func value(_ setting: Setting) throws(ClaiflowError) -> SettingValue? {
        let key = ConfigKey([setting.key])
        let text = reader.string(forKey: key, isSecret: setting.isSecret)
        let results = recorder.lastEvent(of: AbsoluteConfigKey(key))?.providerResults ?? []
        for (index, result) in results.enumerated() {
            switch result.result {
            case .failure(let error):
                throw ClaiflowError(.invalidArgument, "\(source(of: setting, provider: index)): \(setting.key): \(error)")
            case .success(let lookup) where lookup.value != nil:
                guard var text else { return nil }
                if ignoresBlankValues {
                    text = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    if text.isEmpty { return nil }
                }
                return SettingValue(text: text, source: source(of: setting, provider: index))
            case .success:
                continue
            }
        }
        return nil
    }

    /// How messages name the provider at `index`: the flag, the environment variable, the file.
    private func source(of setting: Setting, provider index: Int) -> String {
        switch index {
        case 0: setting.flag
        case 1: setting.environmentName
        default: "\(file?.name ?? "config file"): \(setting.key)"
        }
    }
}
