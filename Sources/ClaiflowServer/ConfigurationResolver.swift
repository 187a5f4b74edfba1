import ClaiflowConfiguration
import ClaiflowCore

/// Resolves the server configuration from its sources through swift-configuration: command-line
/// flags win over `CLAIFLOW_*` environment variables, which win over the config file, which wins
/// over the defaults of ``ServerConfiguration``. The settings are the cases of ``ServerSetting``.
public enum ConfigurationResolver {
    /// The file keys understood, in the order of the configuration table.
    public static var keys: [String] { ServerSetting.allCases.map(\.key) }

    /// Resolves a configuration whose file is given as values (no file: none).
    ///
    /// - Parameters:
    ///   - flags: The flags given, by file key (`admin_token`).
    ///   - environment: The process environment.
    ///   - file: The config file's values.
    ///   - fileName: How messages name the file.
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the source and key of a bad value.
    public static func resolve(
        flags: [String: String], environment: [String: String], file: [String: String], fileName: String = "config file"
    ) throws(ClaiflowError) -> ServerConfiguration {
        try resolve(flags: flags, environment: environment, file: ConfigFile(name: fileName, values: file))
    }

    /// Resolves a configuration from the flags, the environment and a config file read with
    /// ``ClaiflowConfiguration/ConfigFile/load(path:secretKeys:)``.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the source and key of a bad value, or an
    ///   unknown key of the file.
    public static func resolve(
        flags: [String: String], environment: [String: String], file: ConfigFile?
    ) throws(ClaiflowError) -> ServerConfiguration {
        let reader = SettingsReader<ServerSetting>(flags: flags, environment: environment, file: file)
        if let unknown = reader.unknownFileKeys.first {
            throw ClaiflowError(
                .invalidArgument,
                "\(file?.name ?? "config file"): unknown key \"\(unknown)\" (known: \(keys.joined(separator: ", ")))")
        }
        var values: [(ServerSetting, SettingValue)] = []
        for setting in ServerSetting.allCases {
            if let value = try reader.value(setting) { values.append((setting, value)) }
        }
        var c = ServerConfiguration()
        let tls: [ServerSetting] = [.grpcTLSCertificate, .grpcTLSKey]
        for (setting, value) in values where !tls.contains(setting) {
            try setting.apply(value, to: &c)
        }
        let tlsValues = values.filter { tls.contains($0.0) }
        if tlsValues.count == 1 {
            throw ClaiflowError(
                .invalidArgument, "\(tlsValues[0].1.source): set both grpc_tls_certificate and grpc_tls_key, or neither")
        }
        for (setting, value) in tlsValues {
            try setting.apply(value, to: &c)
        }
        return c
    }

    /// The secret file keys (masked in swift-configuration's access events).
    public static var secretKeys: Set<String> { Set(ServerSetting.allCases.filter(\.isSecret).map(\.key)) }
}
