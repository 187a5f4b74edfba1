import ClaiflowCore
import Logging

/// Everything `claiflow server` can be configured with. The CLI fills it from flags, then
/// `CLAIFLOW_*` environment variables, then an optional config file (see ``ServerSetting`` and
/// ``ConfigurationResolver``), then these defaults.
public struct ServerConfiguration: Sendable {
    /// Address to listen on.
    public var host: String = "0.0.0.0"
    /// HTTP port (the original's default).
    public var port: Int = 8099
    /// The most HTTP connections open at once (more are answered `503` and closed at once); nil
    /// means ¾ of the process's open-file limit, at most 10,000.
    public var maxConnections: Int?
    /// How long a request head may take to arrive (from the connection's start, or from the first
    /// byte of a later request) before the connection is closed.
    public var headerTimeout: GoDuration = .seconds(10)
    /// How long a keep-alive connection may stay idle, no request in progress, before it is
    /// closed. A parked long poll is a request in progress, never idle.
    public var idleTimeout: GoDuration = .seconds(90)
    /// `sqlite:PATH` (embedded store) or `postgres://user:password@host:port/database`.
    public var database: String = "sqlite:claiflow.sqlite"
    /// A bootstrap admin API key accepted in addition to stored keys.
    public var adminToken: String?
    /// The log level.
    public var logLevel: Logger.Level = .info
    /// Whether `/metrics` is readable without an API key.
    public var metricsPublic: Bool = false
    /// How often global variables are re-read, so that changes made through other replicas apply.
    public var settingsRefreshInterval: Duration = .seconds(5)
    /// The AES-256 key (base64 of 32 bytes) that encrypts webhook headers and secrets at rest.
    /// When absent, one is generated at first start and kept in the database.
    public var encryptionKey: String?
    /// Keys that sealed secrets before the current one (a key rotation): still accepted for
    /// reading, and every value they sealed is sealed again with the current key at start.
    public var previousEncryptionKeys: [String] = []
    /// The delay before the first webhook retry; it doubles with each attempt.
    public var webhookRetryInitial: GoDuration = .seconds(5)
    /// How long a `processing` service may run past its `timeout` before the server fails it
    /// ("timed out"), whether or not its agent is still there.
    public var serviceTimeoutGrace: GoDuration = .seconds(30)
    /// How long finished services, finished webhook deliveries and expired sessions are kept;
    /// nil keeps everything (the original's behaviour).
    public var retention: GoDuration?
    /// The gRPC port of the agent API (the original's default); 0 picks a free port, nil serves no gRPC.
    public var grpcPort: Int? = 18099
    /// A PEM certificate chain file: with ``grpcTLSKey``, the gRPC port speaks TLS.
    public var grpcTLSCertificate: String?
    /// The PEM private key file of ``grpcTLSCertificate``.
    public var grpcTLSKey: String?

    /// How often an idle event stream (`/api/v1/events`) gets a comment line.
    public var eventsHeartbeat: Duration = .seconds(15)

    /// Whether the web console is served under `/ui/`.
    public var ui: Bool = true
    /// How long a web console sign-in lasts.
    public var uiSessionLifetime: GoDuration = .seconds(12 * 3600)
    /// Whether the console's session cookie is always `Secure` (else only when the request came
    /// over TLS, as `X-Forwarded-Proto: https` from a proxy says).
    public var uiSecureCookie: Bool = false
    /// Whether the agents' long poll is answered below the middlewares (``PollChannelHandler``);
    /// off, the router answers it (the tests compare the two). Not a setting.
    var pollsBelowResponder = true

    public init() {}

    /// The configuration as `key=value` lines for the start-up log, secrets masked: every
    /// ``ServerSetting`` in table order, then the settings refresh interval.
    public var redactedDescription: [(String, String)] {
        ServerSetting.allCases.map { ($0.key, $0.loggedValue(in: self)) }
            + [("settings_refresh_interval", "\(settingsRefreshInterval)")]
    }

    /// Masks the password of a URL like `postgres://user:secret@host/db`.
    public static func redactURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url.range(of: "@", range: schemeEnd.upperBound..<url.endIndex)
        else { return url }
        let userInfo = url[schemeEnd.upperBound..<at.lowerBound]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":********" + String(url[at.lowerBound...])
    }
}
