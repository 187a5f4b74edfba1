import ArgumentParser
import ClaiflowAgent
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging
import ServiceLifecycle

/// `claiflow agent [run]`: the agent that runs a cluster's services, inside the cluster (or next to
/// it with a kubeconfig). The default subcommand of ``AgentGroupCommand``.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = ArgumentParser.CommandConfiguration(
        commandName: "run",
        abstract: "Run the claiflow agent for one cluster: receive its services from the server and run them.",
        discussion: """
            \(AgentSetting.sourcesHelp) Prefer the environment or the file for the token: flags are visible in \
            the process list.

            Kubernetes access: the --kubeconfig given; else the pod's service account when running in a \
            cluster; else ~/.kube/config when it exists; else none (kubernetes.* commands then fail).

            SIGTERM or SIGINT stops polling, gives running services 30 seconds to finish and reports the \
            rest failed, within 10 more seconds whatever the server does. A claiflow.client_pod.rebounce service makes the agent exit with status 0. A \
            claiflow.client.upgrade service rolls the agent's own Deployment to a new image tag (the pod \
            is found by POD_NAME, else HOSTNAME) and, once the new pods are available, exits with \
            status 0.

            --health-port serves GET /healthz (200 while the process runs) and GET /readyz (200 while \
            the agent holds a session with the server, else 503) for Kubernetes probes.

            `claiflow agent manifests` prints the Kubernetes objects that install an agent.
            """
    )

    // One option per AgentSetting, named and described by it; `flag(_:)` maps them back.
    @Option(name: .customLong(AgentSetting.server.flagName), help: AgentSetting.server.argumentHelp)
    var server: String?

    @Option(name: .customLong(AgentSetting.cluster.flagName), help: AgentSetting.cluster.argumentHelp)
    var cluster: String?

    @Option(name: .customLong(AgentSetting.token.flagName), help: AgentSetting.token.argumentHelp)
    var token: String?

    @Option(name: .customLong(AgentSetting.workers.flagName), help: AgentSetting.workers.argumentHelp)
    var workers: String?

    @Option(name: .customLong(AgentSetting.kubeconfig.flagName), help: AgentSetting.kubeconfig.argumentHelp)
    var kubeconfig: String?

    @Option(name: .customLong(AgentSetting.logLevel.flagName), help: AgentSetting.logLevel.argumentHelp)
    var logLevel: String?

    @Option(name: .customLong(AgentSetting.healthPort.flagName), help: AgentSetting.healthPort.argumentHelp)
    var healthPort: String?

    @OptionGroup var configFile: ConfigFileOption

    /// The value given for a setting's flag (the switch makes a new setting without a flag a
    /// compile error).
    func flag(_ setting: AgentSetting) -> String? {
        switch setting {
        case .server: server
        case .cluster: cluster
        case .token: token
        case .workers: workers
        case .kubeconfig: kubeconfig
        case .logLevel: logLevel
        case .healthPort: healthPort
        }
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let settings: AgentSettings
        do {
            let file = try await configFile.load(environment: env, secretKeys: [AgentSetting.token.key])
            settings = try AgentSettings.resolve(
                flags: AgentSetting.flagValues(flag), environment: env, file: file, version: ClaiflowVersion.current)
        } catch {
            throw ValidationError(error.message)
        }

        let level = settings.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        var logger = Logger(label: "claiflow.agent")
        logger.logLevel = level

        let kubernetes = try Self.kubernetesAccess(kubeconfig: settings.kubeconfig, logger: logger)
        var commandLogger = Logger(label: "claiflow.commands")
        commandLogger.logLevel = level
        let commandConfiguration = ClaiflowAgentCommands.CommandConfiguration(
            httpClient: .shared,
            kubernetes: kubernetes,
            credentialStore: kubernetes.map { .kubernetesSecret(namespace: $0.namespace) } ?? .disabled,
            logger: commandLogger)
        let catalog: CommandCatalog
        let upgrader: KubernetesAgentUpgrader?
        do {
            catalog = try CommandCatalog.builtin(commandConfiguration)
            upgrader = try kubernetes.map { try KubernetesAgentUpgrader(access: $0, httpClient: .shared, logger: commandLogger) }
        } catch {
            throw ValidationError("cannot set the commands up: \(error)")
        }

        var startup: Logger.Metadata = [
            "version": .string(ClaiflowVersion.current), "commands": .stringConvertible(catalog.commands.count),
            "kubernetes": .string(kubernetes.map { $0.isInCluster ? "in-cluster" : "kubeconfig \($0.baseURL)" } ?? "none"),
        ]
        for (key, value) in settings.redactedDescription where startup[key] == nil { startup[key] = .string(value) }
        logger.notice("starting claiflow agent", metadata: startup)
        let runtime = AgentRuntime(configuration: settings.agent, commands: catalog.commands, upgrader: upgrader, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let port = settings.healthPort {
            // Hummingbird logs "Server started and listening on …".
            let health = AgentHealthEndpoint.application(port: port, isReady: { runtime.hasSession }, logger: logger)
            services.append(.init(service: health))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.notice("claiflow agent stopped")
    }

    /// The Kubernetes API access: the kubeconfig given; else in-cluster when the pod's service
    /// account token exists; else `~/.kube/config` when it exists; else none.
    static func kubernetesAccess(kubeconfig: String?, logger: Logger) throws -> KubernetesAccess? {
        do {
            if let kubeconfig {
                return try KubernetesAccess.kubeconfig(path: kubeconfig)
            }
            let serviceAccountToken = KubernetesAccess.serviceAccountDirectory + "/token"
            if FileManager.default.fileExists(atPath: serviceAccountToken) {
                return try KubernetesAccess.inCluster()
            }
            let home = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".kube/config").path
            if FileManager.default.isReadableFile(atPath: home) {
                return try KubernetesAccess.kubeconfig(path: home)
            }
        } catch {
            throw ValidationError("Kubernetes access: \(error)")
        }
        logger.warning(
            "no Kubernetes access: no --kubeconfig, not in a cluster and no ~/.kube/config; kubernetes.* commands will fail")
        return nil
    }
}
