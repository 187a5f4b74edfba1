import ArgumentParser
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging
import Yams

/// `claiflow server`: the control plane's HTTP server.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the claiflow server: operator API, agent API over REST and over gRPC.",
        discussion: """
            Every option can also be set by an environment variable (CLAIFLOW_HOST, CLAIFLOW_PORT, \
            CLAIFLOW_DATABASE, CLAIFLOW_ADMIN_TOKEN, CLAIFLOW_LOG_LEVEL, CLAIFLOW_METRICS_PUBLIC, \
            CLAIFLOW_ENCRYPTION_KEY, CLAIFLOW_WEBHOOK_RETRY_INITIAL, CLAIFLOW_GRPC_PORT, CLAIFLOW_GRPC_TLS_CERTIFICATE, \
            CLAIFLOW_GRPC_TLS_KEY, CLAIFLOW_RETENTION, CLAIFLOW_PREVIOUS_ENCRYPTION_KEYS) or in a YAML config file (keys host, port, database, admin_token, log_level, \
            metrics_public, encryption_key, webhook_retry_initial, grpc_port, grpc_tls_certificate, grpc_tls_key, retention, previous_encryption_keys). \
            Flags win over the environment, which wins over the file.
            """
    )

    @Option(help: "Address to listen on (default 0.0.0.0).")
    var host: String?

    @Option(help: "HTTP port (default 8099).")
    var port: String?

    @Option(help: "sqlite:PATH (default sqlite:claiflow.sqlite) or postgres://user:password@host:port/database.")
    var database: String?

    @Option(name: .customLong("admin-token"), help: "An admin API key accepted in addition to stored keys (16+ characters).")
    var adminToken: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info (default), notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("metrics-public"), help: "true to serve /metrics without an API key (default false).")
    var metricsPublic: String?

    @Option(name: .customLong("encryption-key"), help: "AES-256 key (base64 of 32 bytes) for secrets at rest; default: generated and kept in the database.")
    var encryptionKey: String?

    @Option(name: .customLong("previous-encryption-keys"), help: "Comma-separated keys that sealed secrets before --encryption-key (a rotation): still read, and re-sealed with the current key at start.")
    var previousEncryptionKeys: String?

    @Option(name: .customLong("webhook-retry-initial"), help: "Delay before the first webhook retry, doubling each attempt (default 5s).")
    var webhookRetryInitial: String?

    @Option(help: "Delete finished services, webhook deliveries and expired sessions this long after they ended (a duration ≥ 1h, e.g. 720h; default off: keep everything).")
    var retention: String?

    @Option(name: .customLong("grpc-port"), help: "gRPC port of the agent API (default 18099; off to disable).")
    var grpcPort: String?

    @Option(name: .customLong("grpc-tls-certificate"), help: "PEM certificate chain file: serve gRPC over TLS (with --grpc-tls-key).")
    var grpcTLSCertificate: String?

    @Option(name: .customLong("grpc-tls-key"), help: "PEM private key file of --grpc-tls-certificate.")
    var grpcTLSKey: String?

    @Option(help: "A YAML config file (also CLAIFLOW_CONFIG).")
    var config: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var file: [String: String] = [:]
        let configPath = config ?? env["CLAIFLOW_CONFIG"]
        if let configPath {
            file = try Self.readConfigFile(configPath)
        }
        var flags: [String: String] = [:]
        flags["host"] = host
        flags["port"] = port
        flags["database"] = database
        flags["admin_token"] = adminToken
        flags["log_level"] = logLevel
        flags["metrics_public"] = metricsPublic
        flags["encryption_key"] = encryptionKey
        flags["webhook_retry_initial"] = webhookRetryInitial
        flags["retention"] = retention
        flags["previous_encryption_keys"] = previousEncryptionKeys
        flags["grpc_port"] = grpcPort
        flags["grpc_tls_certificate"] = grpcTLSCertificate
        flags["grpc_tls_key"] = grpcTLSKey
        let configuration: ServerConfiguration
        do {
            configuration = try ConfigurationResolver.resolve(
                flags: flags, environment: env, file: file, fileName: configPath ?? "config file")
        } catch {
            throw ValidationError(error.message)
        }

        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        var logger = Logger(label: "claiflow")
        logger.logLevel = level
        var startup: Logger.Metadata = [:]
        for (k, v) in configuration.redactedDescription { startup[k] = .string(v) }
        startup["version"] = .string(ClaiflowVersion.current)
        logger.notice("starting claiflow server", metadata: startup)

        let startLogger = logger
        let server = try await ClaiflowServerApp.build(
            configuration: configuration, logger: logger,
            onServerRunning: { port in
                startLogger.notice("listening", metadata: ["address": .string("\(configuration.host):\(port)")])
            })
        if let key = server.generatedAdminKey {
            FileHandle.standardOutput.write(Data(
                """

                ============================================================================
                  No API key existed, so an admin API key was created. It is shown ONCE:

                      \(key)

                  Use it as:  Authorization: Bearer <key>
                  Create more keys (viewer, operator, admin) with POST /api/v1/api_key.
                ============================================================================

                """.utf8))
        }
        do {
            try await server.application.runService()
        } catch {
            await server.store.close()
            throw error
        }
        await server.store.close()
        logger.notice("claiflow server stopped")
    }

    /// Reads a YAML (or JSON) config file into string values.
    static func readConfigFile(_ path: String) throws -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ValidationError("config file \(path) is not valid YAML: \(error)")
        }
        guard let node else { return [:] }
        guard let mapping = node.mapping else { throw ValidationError("config file \(path) must be a mapping of key: value") }
        var out: [String: String] = [:]
        for (k, v) in mapping {
            guard let key = k.string, let value = v.scalar?.string else {
                throw ValidationError("config file \(path): every value must be a plain scalar")
            }
            out[key] = value
        }
        return out
    }
}
