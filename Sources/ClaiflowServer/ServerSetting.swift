import ClaiflowConfiguration
import ClaiflowCore
import Foundation
import Logging

/// The settings of `claiflow server`, in the order of the README's configuration table.
///
/// Each case is named the same in every source (flag `--admin-token`, environment variable
/// `CLAIFLOW_ADMIN_TOKEN`, file key `admin_token`) and carries its help, its documented default,
/// whether it is a secret, how a value is checked and applied (``apply(_:to:)``) and how the
/// effective value shows in the start-up log (``loggedValue(in:)``). `claiflow server`'s flags and
/// help, ``ConfigurationResolver`` and ``ServerConfiguration/redactedDescription`` all come from it.
public enum ServerSetting: String, ConfigurationSetting {
    case host
    case port
    case maxConnections = "max_connections"
    case headerTimeout = "header_timeout"
    case idleTimeout = "idle_timeout"
    case database
    case adminToken = "admin_token"
    case logLevel = "log_level"
    case metricsPublic = "metrics_public"
    case encryptionKey = "encryption_key"
    case previousEncryptionKeys = "previous_encryption_keys"
    case webhookRetryInitial = "webhook_retry_initial"
    case retention
    case grpcPort = "grpc_port"
    case grpcTLSCertificate = "grpc_tls_certificate"
    case grpcTLSKey = "grpc_tls_key"
    case serviceTimeoutGrace = "service_timeout_grace"
    case ui
    case uiSessionLifetime = "ui_session_lifetime"
    case uiSecureCookie = "ui_secure_cookie"

    /// One line of help.
    public var help: String {
        switch self {
        case .host: "Address to listen on."
        case .port: "HTTP port."
        case .maxConnections: "Most HTTP connections open at once; more are answered 503 and closed at once."
        case .headerTimeout: "Close a connection whose request head has not arrived within this duration."
        case .idleTimeout: "Close a keep-alive connection idle (no request in progress) for this duration."
        case .database: "sqlite:PATH or postgres://user:password@host:port/database."
        case .adminToken: "An admin API key accepted in addition to stored keys (16+ characters)."
        case .logLevel: "trace, debug, info, notice, warning, error or critical."
        case .metricsPublic: "true to serve /metrics without an API key."
        case .encryptionKey: "AES-256 key (base64 of 32 bytes) for secrets at rest."
        case .previousEncryptionKeys:
            """
            Comma-separated keys that sealed secrets before --encryption-key (a rotation): still read, and re-sealed \
            with the current key at start.
            """
        case .webhookRetryInitial: "Delay before the first webhook retry, doubling each attempt."
        case .retention:
            """
            Delete finished services, webhook deliveries and expired sessions this long after they ended (a duration \
            ≥ 1h, e.g. 720h; off keeps everything).
            """
        case .grpcPort: "gRPC port of the agent API (off to disable)."
        case .grpcTLSCertificate: "PEM certificate chain file: serve gRPC over TLS (with --grpc-tls-key)."
        case .grpcTLSKey: "PEM private key file of --grpc-tls-certificate."
        case .serviceTimeoutGrace:
            "How long a running service may outlast its timeout before the server fails it (its agent stops it at the timeout)."
        case .ui: "on or off: serve the web console under /ui/."
        case .uiSessionLifetime: "How long a web console sign-in lasts."
        case .uiSecureCookie: "true to always mark the console's session cookie Secure (else only behind TLS)."
        }
    }

    /// The default as the README shows it.
    public var documentedDefault: String {
        switch self {
        case .host: "0.0.0.0"
        case .port: "8099"
        case .maxConnections: "¾ of the open-file limit, at most 50000"
        case .headerTimeout: "10s"
        case .idleTimeout: "90s"
        case .database: "sqlite:claiflow.sqlite"
        case .adminToken, .previousEncryptionKeys, .grpcTLSCertificate, .grpcTLSKey: "none"
        case .logLevel: "info"
        case .metricsPublic: "false"
        case .encryptionKey: "generated, kept in the database"
        case .webhookRetryInitial: "5s"
        case .retention: "off"
        case .grpcPort: "18099"
        case .serviceTimeoutGrace: "30s"
        case .ui: "on"
        case .uiSessionLifetime: "12h"
        case .uiSecureCookie: "false"
        }
    }

    /// Whether the value is a secret.
    public var isSecret: Bool {
        switch self {
        case .adminToken, .encryptionKey, .previousEncryptionKeys: true
        default: false
        }
    }

    /// Checks `value` and sets it in `configuration`.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the value's source.
    func apply(_ value: SettingValue, to c: inout ServerConfiguration) throws(ClaiflowError) {
        let (v, source) = (value.text, value.source)
        /// `v` through `parse`, nil for `off` when allowed; the error says what was `expected`.
        func parsed<T>(_ expected: String, offAllowed: Bool = false, _ parse: (String) -> T?) throws(ClaiflowError) -> T? {
            if offAllowed, v.lowercased() == "off" { return nil }
            guard let result = parse(v) else {
                throw ClaiflowError(.invalidArgument, "\(source): \(key) must be \(expected), got \"\(v)\"")
            }
            return result
        }
        switch self {
        case .host:
            c.host = v
        case .port:
            c.port = try parsed("a number from 0 to 65535", Self.port) ?? c.port
        case .maxConnections:
            c.maxConnections = try parsed("a number from 1 to 1000000") {
                Int($0).flatMap { (1...1_000_000).contains($0) ? $0 : nil }
            }
        case .headerTimeout:
            c.headerTimeout =
                try parsed("a duration from 100ms to 10m (e.g. 10s)") {
                    Self.duration($0, from: 100_000_000, to: 600_000_000_000)
                } ?? c.headerTimeout
        case .idleTimeout:
            c.idleTimeout =
                try parsed("a duration from 1s to 24h (e.g. 90s)") {
                    Self.duration($0, from: 1_000_000_000, to: 86_400_000_000_000)
                } ?? c.idleTimeout
        case .database:
            guard v.hasPrefix("sqlite:") || v.hasPrefix("postgres://") || v.hasPrefix("postgresql://") else {
                throw ClaiflowError(
                    .invalidArgument, "\(source): database must be sqlite:PATH or postgres://user:password@host:port/database")
            }
            c.database = v
        case .adminToken:
            guard v.utf8.count >= 16 else {
                throw ClaiflowError(.invalidArgument, "\(source): the admin token must be at least 16 characters")
            }
            c.adminToken = v
        case .logLevel:
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw ClaiflowError(
                    .invalidArgument,
                    "\(source): log level must be trace, debug, info, notice, warning, error or critical, got \"\(v)\"")
            }
            c.logLevel = level
        case .metricsPublic:
            switch v.lowercased() {
            case "true", "1", "yes": c.metricsPublic = true
            case "false", "0", "no": c.metricsPublic = false
            default: throw ClaiflowError(.invalidArgument, "\(source): metrics_public must be true or false, got \"\(v)\"")
            }
        case .encryptionKey:
            guard let bytes = Base64.decode(v), bytes.count == 32 else {
                throw ClaiflowError(
                    .invalidArgument,
                    "\(source): the encryption key must be 32 random bytes in standard base64 (openssl rand -base64 32)")
            }
            c.encryptionKey = v
        case .previousEncryptionKeys:
            let keys = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for k in keys {
                guard let bytes = Base64.decode(k), bytes.count == 32 else {
                    throw ClaiflowError(
                        .invalidArgument,
                        "\(source): each previous encryption key must be 32 bytes in standard base64 (comma-separated)")
                }
            }
            c.previousEncryptionKeys = keys
        case .webhookRetryInitial:
            guard let d = GoDuration(parsing: v), d.nanoseconds >= 10_000_000, d.nanoseconds <= 3_600_000_000_000 else {
                throw ClaiflowError(
                    .invalidArgument, "\(source): webhook_retry_initial must be a duration from 10ms to 1h, got \"\(v)\"")
            }
            c.webhookRetryInitial = d
        case .retention:
            c.retention = try parsed("a duration of at least 1h (e.g. 720h) or off", offAllowed: true) {
                GoDuration(parsing: $0).flatMap { $0.nanoseconds >= 3_600_000_000_000 ? $0 : nil }
            }
        case .grpcPort:
            c.grpcPort = try parsed("a number from 0 to 65535 or off", offAllowed: true, Self.port)
        case .grpcTLSCertificate:
            guard FileManager.default.isReadableFile(atPath: v) else {
                throw ClaiflowError(.invalidArgument, "\(source): cannot read the file \"\(v)\"")
            }
            c.grpcTLSCertificate = v
        case .grpcTLSKey:
            guard FileManager.default.isReadableFile(atPath: v) else {
                throw ClaiflowError(.invalidArgument, "\(source): cannot read the file \"\(v)\"")
            }
            c.grpcTLSKey = v
        case .serviceTimeoutGrace:
            c.serviceTimeoutGrace =
                try parsed("a duration from 0s to 1h (e.g. 30s)") { Self.duration($0, from: 0, to: 3_600_000_000_000) }
                ?? c.serviceTimeoutGrace
        case .ui:
            switch v.lowercased() {
            case "on", "true", "1", "yes": c.ui = true
            case "off", "false", "0", "no": c.ui = false
            default: throw ClaiflowError(.invalidArgument, "\(source): ui must be on or off, got \"\(v)\"")
            }
        case .uiSessionLifetime:
            c.uiSessionLifetime =
                try parsed("a duration from 1m to 720h (e.g. 12h)") {
                    Self.duration($0, from: 60_000_000_000, to: 2_592_000_000_000_000)
                } ?? c.uiSessionLifetime
        case .uiSecureCookie:
            switch v.lowercased() {
            case "true", "1", "yes": c.uiSecureCookie = true
            case "false", "0", "no": c.uiSecureCookie = false
            default: throw ClaiflowError(.invalidArgument, "\(source): ui_secure_cookie must be true or false, got \"\(v)\"")
            }
        }
    }

    /// The effective value as the start-up log shows it: secrets masked, a database URL's
    /// password masked.
    public func loggedValue(in c: ServerConfiguration) -> String {
        switch self {
        case .host: c.host
        case .port: String(c.port)
        case .maxConnections:
            c.maxConnections.map(String.init) ?? "\(ConnectionLimiter.defaultMaximum()) (¾ of the open-file limit)"
        case .headerTimeout: c.headerTimeout.description
        case .idleTimeout: c.idleTimeout.description
        case .database: ServerConfiguration.redactURL(c.database)
        case .adminToken: c.adminToken == nil ? "(not set)" : "********"
        case .logLevel: c.logLevel.rawValue
        case .metricsPublic: String(c.metricsPublic)
        case .encryptionKey: c.encryptionKey == nil ? "(in the database)" : "********"
        case .previousEncryptionKeys: c.previousEncryptionKeys.isEmpty ? "(none)" : "\(c.previousEncryptionKeys.count) × ********"
        case .webhookRetryInitial: c.webhookRetryInitial.description
        case .retention: c.retention?.description ?? "off"
        case .grpcPort: c.grpcPort.map(String.init) ?? "off"
        case .grpcTLSCertificate: c.grpcTLSCertificate ?? "(not set: plaintext)"
        case .grpcTLSKey: c.grpcTLSKey ?? "(not set)"
        case .serviceTimeoutGrace: ServiceTimeout.short(c.serviceTimeoutGrace)
        case .ui: c.ui ? "on" : "off"
        case .uiSessionLifetime: c.uiSessionLifetime.description
        case .uiSecureCookie: String(c.uiSecureCookie)
        }
    }

    /// A Go duration within `from`...`to` nanoseconds.
    static func duration(_ text: String, from: Int64, to: Int64) -> GoDuration? {
        GoDuration(parsing: text).flatMap { (from...to).contains($0.nanoseconds) ? $0 : nil }
    }

    /// A TCP port number.
    static func port(_ text: String) -> Int? { Int(text).flatMap { (0...65535).contains($0) ? $0 : nil } }
}
