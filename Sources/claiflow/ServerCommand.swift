import ArgumentParser
import ClaiflowConfiguration
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging

/// `claiflow server`: the control plane's HTTP server.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the claiflow server: operator API, agent API over REST and over gRPC.",
        discussion: ServerSetting.sourcesHelp
    )

    // One option per ServerSetting, named and described by it; `flag(_:)` maps them back.
    @Option(name: .customLong(ServerSetting.host.flagName), help: ServerSetting.host.argumentHelp)
    var host: String?

    @Option(name: .customLong(ServerSetting.port.flagName), help: ServerSetting.port.argumentHelp)
    var port: String?

    @Option(name: .customLong(ServerSetting.maxConnections.flagName), help: ServerSetting.maxConnections.argumentHelp)
    var maxConnections: String?

    @Option(name: .customLong(ServerSetting.headerTimeout.flagName), help: ServerSetting.headerTimeout.argumentHelp)
    var headerTimeout: String?

    @Option(name: .customLong(ServerSetting.idleTimeout.flagName), help: ServerSetting.idleTimeout.argumentHelp)
    var idleTimeout: String?

    @Option(name: .customLong(ServerSetting.database.flagName), help: ServerSetting.database.argumentHelp)
    var database: String?

    @Option(name: .customLong(ServerSetting.adminToken.flagName), help: ServerSetting.adminToken.argumentHelp)
    var adminToken: String?

    @Option(name: .customLong(ServerSetting.logLevel.flagName), help: ServerSetting.logLevel.argumentHelp)
    var logLevel: String?

    @Option(name: .customLong(ServerSetting.metricsPublic.flagName), help: ServerSetting.metricsPublic.argumentHelp)
    var metricsPublic: String?

    @Option(name: .customLong(ServerSetting.encryptionKey.flagName), help: ServerSetting.encryptionKey.argumentHelp)
    var encryptionKey: String?

    @Option(
        name: .customLong(ServerSetting.previousEncryptionKeys.flagName), help: ServerSetting.previousEncryptionKeys.argumentHelp)
    var previousEncryptionKeys: String?

    @Option(name: .customLong(ServerSetting.webhookRetryInitial.flagName), help: ServerSetting.webhookRetryInitial.argumentHelp)
    var webhookRetryInitial: String?

    @Option(name: .customLong(ServerSetting.retention.flagName), help: ServerSetting.retention.argumentHelp)
    var retention: String?

    @Option(name: .customLong(ServerSetting.grpcPort.flagName), help: ServerSetting.grpcPort.argumentHelp)
    var grpcPort: String?

    @Option(name: .customLong(ServerSetting.grpcTLSCertificate.flagName), help: ServerSetting.grpcTLSCertificate.argumentHelp)
    var grpcTLSCertificate: String?

    @Option(name: .customLong(ServerSetting.grpcTLSKey.flagName), help: ServerSetting.grpcTLSKey.argumentHelp)
    var grpcTLSKey: String?

    @Option(name: .customLong(ServerSetting.serviceTimeoutGrace.flagName), help: ServerSetting.serviceTimeoutGrace.argumentHelp)
    var serviceTimeoutGrace: String?
    @Option(name: .customLong(ServerSetting.ui.flagName), help: ServerSetting.ui.argumentHelp)
    var ui: String?

    @Option(name: .customLong(ServerSetting.uiSessionLifetime.flagName), help: ServerSetting.uiSessionLifetime.argumentHelp)
    var uiSessionLifetime: String?

    @Option(name: .customLong(ServerSetting.uiSecureCookie.flagName), help: ServerSetting.uiSecureCookie.argumentHelp)
    var uiSecureCookie: String?

    @OptionGroup var configFile: ConfigFileOption

    /// The value given for a setting's flag (the switch makes a new setting without a flag a
    /// compile error).
    func flag(_ setting: ServerSetting) -> String? {
        switch setting {
        case .host: host
        case .port: port
        case .maxConnections: maxConnections
        case .headerTimeout: headerTimeout
        case .idleTimeout: idleTimeout
        case .database: database
        case .adminToken: adminToken
        case .logLevel: logLevel
        case .metricsPublic: metricsPublic
        case .encryptionKey: encryptionKey
        case .previousEncryptionKeys: previousEncryptionKeys
        case .webhookRetryInitial: webhookRetryInitial
        case .retention: retention
        case .grpcPort: grpcPort
        case .grpcTLSCertificate: grpcTLSCertificate
        case .grpcTLSKey: grpcTLSKey
        case .serviceTimeoutGrace: serviceTimeoutGrace
        case .ui: ui
        case .uiSessionLifetime: uiSessionLifetime
        case .uiSecureCookie: uiSecureCookie
        }
    }

    func run() async throws {
        // Each connection (a parked agent poll holds one) is a file descriptor; the default
        // connection cap follows the soft limit.
        OpenFileLimit.raiseToHard()
        let env = ProcessInfo.processInfo.environment
        let configuration: ServerConfiguration
        do {
            let file = try await configFile.load(environment: env, secretKeys: ConfigurationResolver.secretKeys)
            configuration = try ConfigurationResolver.resolve(flags: ServerSetting.flagValues(flag), environment: env, file: file)
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
            },
            onAdminKeyGenerated: { key in
                startLogger.notice("no API key existed: created an admin API key and printed it on stdout")
                FileHandle.standardOutput.write(
                    Data(
                        """

                        ============================================================================
                          No API key existed, so an admin API key was created. It is shown ONCE:

                              \(key)

                          Use it as:  Authorization: Bearer <key>
                          Create more keys (viewer, operator, admin) with POST /api/v1/api_key,
                          or with database access: claiflow admin create-key --database <url>
                        ============================================================================

                        """.utf8))
            })
        do {
            try await server.application.runService()
        } catch {
            await server.store.close()
            throw error
        }
        await server.store.close()
        logger.notice("claiflow server stopped")
    }
}
