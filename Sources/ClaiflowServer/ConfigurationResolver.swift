import ClaiflowCore
import Foundation
import Logging

/// Resolves the server configuration from its three sources: command-line flags win over
/// `CLAIFLOW_*` environment variables, which win over the config file, which wins over defaults.
/// Keys are the config file's: `host`, `port`, `database`, `admin_token`, `log_level`,
/// `metrics_public`; the environment variable of a key is `CLAIFLOW_` + its upper-case name.
public enum ConfigurationResolver {
    /// The keys understood, in the order of the configuration table.
    public static let keys = [
        "host", "port", "database", "admin_token", "log_level", "metrics_public", "encryption_key", "webhook_retry_initial",
        "grpc_port", "grpc_tls_certificate", "grpc_tls_key", "retention", "previous_encryption_keys",
    ]

    /// The environment variable of a key: `CLAIFLOW_ADMIN_TOKEN` for `admin_token`.
    public static func environmentName(_ key: String) -> String { "CLAIFLOW_" + key.uppercased() }

    /// Resolves a configuration; throws a message naming the source and key of a bad value.
    public static func resolve(
        flags: [String: String], environment: [String: String], file: [String: String], fileName: String = "config file"
    ) throws(ClaiflowError) -> ServerConfiguration {
        for key in file.keys where !keys.contains(key) {
            throw ClaiflowError(.invalidArgument, "\(fileName): unknown key \"\(key)\" (known: \(keys.joined(separator: ", ")))")
        }
        func value(_ key: String) -> (String, String)? {
            if let v = flags[key] { return (v, "--" + key.replacingOccurrences(of: "_", with: "-")) }
            if let v = environment[environmentName(key)] { return (v, environmentName(key)) }
            if let v = file[key] { return (v, "\(fileName): \(key)") }
            return nil
        }
        /// `key`'s value through `parse`: `.none` when unset, `.some(nil)` for `off` (when allowed).
        func setting<T>(
            _ key: String, _ expected: String, offAllowed: Bool = false, _ parse: (String) -> T?
        ) throws(ClaiflowError) -> T?? {
            guard let (v, source) = value(key) else { return .none }
            if offAllowed, v.lowercased() == "off" { return .some(nil) }
            guard let parsed = parse(v) else {
                throw ClaiflowError(.invalidArgument, "\(source): \(key) must be \(expected), got \"\(v)\"")
            }
            return .some(parsed)
        }
        var c = ServerConfiguration()
        if let (v, _) = value("host") { c.host = v }
        if let p = try setting("port", "a number from 0 to 65535", Self.port) { c.port = p ?? c.port }
        if let (v, source) = value("database") {
            guard v.hasPrefix("sqlite:") || v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") else {
                throw ClaiflowError(
                    .invalidArgument, "\(source): database must be sqlite:PATH or postgres://user:password@host:port/database")
            }
            c.database = v
        }
        if let (v, source) = value("admin_token") {
            guard v.utf8.count >= 16 else {
                throw ClaiflowError(.invalidArgument, "\(source): the admin token must be at least 16 characters")
            }
            c.adminToken = v
        }
        if let (v, source) = value("log_level") {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw ClaiflowError(
                    .invalidArgument, "\(source): log level must be trace, debug, info, notice, warning, error or critical, got \"\(v)\"")
            }
            c.logLevel = level
        }
        if let (v, source) = value("metrics_public") {
            switch v.lowercased() {
            case "true", "1", "yes": c.metricsPublic = true
            case "false", "0", "no": c.metricsPublic = false
            default: throw ClaiflowError(.invalidArgument, "\(source): metrics_public must be true or false, got \"\(v)\"")
            }
        }
        if let (v, source) = value("encryption_key") {
            guard let bytes = Base64.decode(v), bytes.count == 32 else {
                throw ClaiflowError(.invalidArgument, "\(source): the encryption key must be 32 random bytes in standard base64 (openssl rand -base64 32)")
            }
            c.encryptionKey = v
        }
        if let (v, source) = value("previous_encryption_keys") {
            let keys = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for k in keys {
                guard let bytes = Base64.decode(k), bytes.count == 32 else {
                    throw ClaiflowError(.invalidArgument, "\(source): each previous encryption key must be 32 bytes in standard base64 (comma-separated)")
                }
            }
            c.previousEncryptionKeys = keys
        }
        if let (v, source) = value("webhook_retry_initial") {
            guard let d = GoDuration(parsing: v), d.nanoseconds >= 10_000_000, d.nanoseconds <= 3_600_000_000_000 else {
                throw ClaiflowError(.invalidArgument, "\(source): webhook_retry_initial must be a duration from 10ms to 1h, got \"\(v)\"")
            }
            c.webhookRetryInitial = d
        }
        if let d = try setting("retention", "a duration of at least 1h (e.g. 720h) or off", offAllowed: true, {
            GoDuration(parsing: $0).flatMap { $0.nanoseconds >= 3_600_000_000_000 ? $0 : nil }
        }) {
            c.retention = d
        }
        if let p = try setting("grpc_port", "a number from 0 to 65535 or off", offAllowed: true, Self.port) { c.grpcPort = p }
        let cert = value("grpc_tls_certificate")
        let key = value("grpc_tls_key")
        switch (cert, key) {
        case (nil, nil): break
        case (let (certificate, certSource)?, let (keyFile, keySource)?):
            for (file, source) in [(certificate, certSource), (keyFile, keySource)] where !FileManager.default.isReadableFile(atPath: file) {
                throw ClaiflowError(.invalidArgument, "\(source): cannot read the file \"\(file)\"")
            }
            c.grpcTLSCertificate = certificate
            c.grpcTLSKey = keyFile
        case (let (_, source)?, nil), (nil, let (_, source)?):
            throw ClaiflowError(.invalidArgument, "\(source): set both grpc_tls_certificate and grpc_tls_key, or neither")
        }
        return c
    }

    /// A TCP port number.
    static func port(_ text: String) -> Int? { Int(text).flatMap { (0...65535).contains($0) ? $0 : nil } }
}
