import ArgumentParser
import ClaiflowAgent
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowServer
import Foundation
import Logging
import ServiceLifecycle

/// `claiflow agent`: the agent that runs a cluster's services, inside the cluster (or next to it
/// with a kubeconfig).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = ArgumentParser.CommandConfiguration(
        commandName: "agent",
        abstract: "Run the claiflow agent for one cluster: receive its services from the server and run them.",
        discussion: """
            Every option can also be set by an environment variable (CLAIFLOW_SERVER, CLAIFLOW_CLUSTER, \
            CLAIFLOW_TOKEN, CLAIFLOW_WORKERS, CLAIFLOW_KUBECONFIG, CLAIFLOW_LOG_LEVEL) or in a YAML config \
            file (keys server, cluster, token, workers, kubeconfig, log_level). Flags win over the \
            environment, which wins over the file. Prefer the environment or the file for the token: \
            flags are visible in the process list.

            Kubernetes access: the --kubeconfig given; else the pod's service account when running in a \
            cluster; else ~/.kube/config when it exists; else none (kubernetes.* commands then fail).

            SIGTERM or SIGINT stops polling, gives running services 30 seconds to finish and reports the \
            rest failed. A claiflow.client_pod.rebounce service makes the agent exit with status 0. A \
            claiflow.client.upgrade service rolls the agent's own Deployment to a new image tag (the pod \
            is found by POD_NAME, else HOSTNAME) and, once the new pods are available, exits with \
            status 0.
            """
    )

    @Option(help: "The claiflow server's URL, e.g. https://claiflow.example.com.")
    var server: String?

    @Option(help: "The uuid of the cluster this agent serves.")
    var cluster: String?

    @Option(help: "The cluster token's secret (prefer CLAIFLOW_TOKEN or the config file).")
    var token: String?

    @Option(help: "How many services run at once (default 4).")
    var workers: String?

    @Option(help: "A kubeconfig file to reach the Kubernetes API with (default: in-cluster, else ~/.kube/config).")
    var kubeconfig: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info (default), notice, warning, error or critical.")
    var logLevel: String?

    @Option(help: "A YAML config file (also CLAIFLOW_CONFIG).")
    var config: String?

    /// The settings after merging flags, environment and file.
    struct Settings {
        var agent: AgentConfiguration
        var kubeconfig: String?
        var logLevel: Logger.Level
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let settings = try resolve(environment: env)

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

        logger.notice(
            "starting claiflow agent",
            metadata: [
                "version": .string(ClaiflowVersion.current), "commands": .stringConvertible(catalog.commands.count),
                "kubernetes": .string(kubernetes.map { $0.isInCluster ? "in-cluster" : "kubeconfig \($0.baseURL)" } ?? "none"),
            ])
        let runtime = AgentRuntime(configuration: settings.agent, commands: catalog.commands, upgrader: upgrader, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.notice("claiflow agent stopped")
    }

    /// Merges flags > environment > config file and validates the result.
    func resolve(environment env: [String: String]) throws -> Settings {
        var file: [String: String] = [:]
        let configPath = config ?? env["CLAIFLOW_CONFIG"]
        if let configPath {
            file = try ServerCommand.readConfigFile(configPath)
            let known: Set<String> = ["server", "cluster", "token", "workers", "kubeconfig", "log_level"]
            if let unknown = file.keys.filter({ !known.contains($0) }).sorted().first {
                throw ValidationError(
                    "config file \(configPath): unknown key \"\(unknown)\" (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
        func value(_ flag: String?, _ variable: String, _ key: String) -> String? {
            for candidate in [flag, env[variable], file[key]] {
                if let candidate, !candidate.trimmingCharacters(in: .whitespaces).isEmpty {
                    return candidate.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            return nil
        }
        func required(_ flag: String?, _ option: String, _ variable: String, _ key: String) throws -> String {
            guard let v = value(flag, variable, key) else {
                throw ValidationError("missing --\(option) (or \(variable), or \(key): in the config file)")
            }
            return v
        }
        let server = try required(self.server, "server", "CLAIFLOW_SERVER", "server")
        let cluster = try required(self.cluster, "cluster", "CLAIFLOW_CLUSTER", "cluster")
        let token = try required(self.token, "token", "CLAIFLOW_TOKEN", "token")
        var agent = AgentConfiguration(serverURL: server, clusterUUID: cluster, token: token, version: ClaiflowVersion.current)
        if let w = value(self.workers, "CLAIFLOW_WORKERS", "workers") {
            guard let n = Int(w), (1...1000).contains(n) else {
                throw ValidationError("workers: must be a whole number from 1 to 1000, got \"\(w)\"")
            }
            agent.workers = n
        }
        do {
            try agent.validate()
        } catch {
            throw ValidationError(error.message)
        }
        var level = Logger.Level.info
        if let l = value(self.logLevel, "CLAIFLOW_LOG_LEVEL", "log_level") {
            guard let parsed = Logger.Level(rawValue: l.lowercased()) else {
                throw ValidationError("log-level: must be trace, debug, info, notice, warning, error or critical, got \"\(l)\"")
            }
            level = parsed
        }
        var kubeconfigPath = value(self.kubeconfig, "CLAIFLOW_KUBECONFIG", "kubeconfig")
        if let path = kubeconfigPath {
            let expanded = (path as NSString).expandingTildeInPath
            guard FileManager.default.isReadableFile(atPath: expanded) else {
                throw ValidationError("kubeconfig: cannot read \(expanded)")
            }
            kubeconfigPath = expanded
        }
        return Settings(agent: agent, kubeconfig: kubeconfigPath, logLevel: level)
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
        logger.warning("no Kubernetes access: no --kubeconfig, not in a cluster and no ~/.kube/config; kubernetes.* commands will fail")
        return nil
    }
}
