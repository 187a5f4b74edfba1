import ClaiflowConfiguration

/// The settings of `claiflow agent`, in the order of docs/agent.md's table; each is named the same
/// in every source (flag `--log-level`, environment variable `CLAIFLOW_LOG_LEVEL`, file key
/// `log_level`). `claiflow agent`'s flags and help, ``AgentSettings/resolve(flags:environment:file:version:)``
/// and the agent's start-up log come from it.
public enum AgentSetting: String, ConfigurationSetting {
    case server
    case cluster
    case token
    case workers
    case kubeconfig
    case logLevel = "log_level"
    case healthPort = "health_port"

    /// One line of help.
    public var help: String {
        switch self {
        case .server: "The claiflow server's URL, e.g. https://claiflow.example.com."
        case .cluster: "The uuid of the cluster this agent serves."
        case .token: "The cluster token's secret (prefer CLAIFLOW_TOKEN or the config file: flags show in the process list)."
        case .workers: "How many services run at once (1 to 1000)."
        case .kubeconfig: "A kubeconfig file to reach the Kubernetes API with."
        case .logLevel: "trace, debug, info, notice, warning, error or critical."
        case .healthPort: "Serve /healthz and /readyz on this port (off to disable)."
        }
    }

    /// The default as docs/agent.md shows it.
    public var documentedDefault: String {
        switch self {
        case .server, .cluster, .token: "required"
        case .workers: "4"
        case .kubeconfig: "in-cluster, else ~/.kube/config"
        case .logLevel: "info"
        case .healthPort: "off"
        }
    }

    /// Whether the value is a secret.
    public var isSecret: Bool { self == .token }

    /// The effective value as the start-up log shows it, the token masked.
    public func loggedValue(in settings: AgentSettings) -> String {
        switch self {
        case .server: settings.agent.serverURL
        case .cluster: settings.agent.clusterUUID
        case .token: "********"
        case .workers: String(settings.agent.workers)
        case .kubeconfig: settings.kubeconfig ?? "(not set)"
        case .logLevel: settings.logLevel.rawValue
        case .healthPort: settings.healthPort.map(String.init) ?? "off"
        }
    }
}
