/// The names shared by every command's configuration sources.
public enum ConfigurationSources {
    /// The prefix of every setting's environment variable.
    public static let environmentPrefix = "CLAIFLOW_"
    /// The key component that, put before a setting's key, makes its environment variable
    /// (swift-configuration joins `claiflow.admin_token` into `CLAIFLOW_ADMIN_TOKEN`).
    static let environmentScope = "claiflow"
    /// The flag that names the YAML config file.
    public static let configFlag = "--config"
    /// The environment variable that names the YAML config file when the flag is absent.
    public static let configEnvironmentName = "CLAIFLOW_CONFIG"

    /// The config file's path: the flag's value, else `CLAIFLOW_CONFIG`, else none.
    public static func configPath(flag: String?, environment: [String: String]) -> String? {
        flag ?? environment[configEnvironmentName]
    }
}
