import ArgumentParser
import ClaiflowConfiguration
import ClaiflowCore

/// The `--config FILE` option that `claiflow server` and `claiflow agent` share.
struct ConfigFileOption: ParsableArguments {
    @Option(
        name: .customLong(String(ConfigurationSources.configFlag.dropFirst(2))),
        help: "A YAML config file (also \(ConfigurationSources.configEnvironmentName)).")
    var config: String?

    /// The config file named by `--config`, else `CLAIFLOW_CONFIG`; nil when neither is set.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` when the file cannot be read or is not a mapping
    ///   of plain values.
    func load(environment: [String: String], secretKeys: Set<String>) async throws(ClaiflowError) -> ConfigFile? {
        guard let path = ConfigurationSources.configPath(flag: config, environment: environment) else { return nil }
        return try await ConfigFile.load(path: path, secretKeys: secretKeys)
    }
}
