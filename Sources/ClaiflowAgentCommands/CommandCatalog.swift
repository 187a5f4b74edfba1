import ClaiflowCore
import ClaiflowFlow

/// The commands an agent can run, by name: the built-in catalog plus whatever a custom agent
/// build registers.
///
/// ```swift
/// var catalog = try CommandCatalog.builtin(configuration)
/// catalog.register("acme.greet") { call in
///     guard case .string(let name)? = call.inputs?.field("name") else {
///         throw FlowCommandError("\"name\" is required")
///     }
///     return .object(["greeting": .string("hello \(name)")])
/// }
/// let engine = FlowEngine(commands: catalog.commands)
/// ```
public struct CommandCatalog: Sendable {
    /// The registered commands by name, ready for ``FlowEngine/init(commands:clock:)``.
    public private(set) var commands: [String: FlowCommand]

    /// The system command that restarts the agent's pod. The agent runtime handles it itself; it is
    /// never in a catalog.
    public static let rebounceCommand = "claiflow.client_pod.rebounce"
    /// The system command that upgrades the agent's Deployment. The agent runtime handles it itself;
    /// it is never in a catalog.
    public static let upgradeCommand = "claiflow.client.upgrade"
    /// The names the agent runtime intercepts before a flow runs.
    public static let systemCommands: Set<String> = [rebounceCommand, upgradeCommand]

    /// An empty catalog.
    public init() {
        commands = [:]
    }

    /// Registers (or replaces) a command — the extension point for custom agent builds.
    ///
    /// A command gets the call (name, step id, resolved inputs) and returns the step's outputs, or
    /// throws to fail the step (``FlowCommandError``'s message becomes the step's error text;
    /// `CancellationError` cancels the run). Names in ``systemCommands`` never reach a catalog
    /// command: the agent runtime handles them first.
    public mutating func register(_ name: String, _ command: @escaping FlowCommand) {
        commands[name] = command
    }

    /// The registered names, sorted.
    public var names: [String] { commands.keys.sorted() }

    /// Every built-in command: `kubernetes.*`, `prometheus.*`, `helm.*`, `claiflow.credential.*`
    /// (also as `credstor.credential.*`), `http.request`, `claiflow.echo` and `claiflow.sleep`.
    ///
    /// Commands whose backing is not configured are still registered and fail with a clear error
    /// when run (no Kubernetes access, no helm on `PATH`, no credential storage).
    ///
    /// - Throws: ``KubernetesConfigurationError`` for unusable Kubernetes TLS material or URL, or a
    ///   ``FlowCommandError`` for a credential file key that is not 32 bytes.
    public static func builtin(_ configuration: CommandConfiguration) throws -> CommandCatalog {
        var catalog = CommandCatalog()
        let kubernetes = try configuration.kubernetes.map {
            try KubernetesClient(access: $0, httpClient: configuration.httpClient, logger: configuration.logger)
        }
        KubernetesCommands.register(into: &catalog, client: kubernetes)
        PrometheusCommands.register(into: &catalog, httpClient: configuration.httpClient)
        HelmCommands.register(
            into: &catalog, helmPath: configuration.helmPath, searchPath: configuration.helmSearchPath,
            logger: configuration.logger)

        let storage: Result<any CredentialStorage, FlowCommandError>
        switch configuration.credentialStore {
        case .file(let path, let key):
            storage = .success(try FileCredentialStorage(path: path, key: key))
        case .kubernetesSecret(let namespace, let name):
            if let kubernetes {
                storage = .success(SecretCredentialStorage(client: kubernetes, namespace: namespace, name: name))
            } else {
                storage = .failure(
                    FlowCommandError("no Kubernetes access configured for the k8s/secret credential storage"))
            }
        case .disabled:
            storage = .failure(FlowCommandError("no credential storage configured"))
        }
        CredentialCommands.register(into: &catalog, storage: storage)

        HTTPRequestCommand.register(into: &catalog, httpClient: configuration.httpClient)
        BasicCommands.register(into: &catalog)
        return catalog
    }
}
