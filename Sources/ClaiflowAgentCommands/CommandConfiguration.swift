import AsyncHTTPClient
import Foundation
import Logging

/// What the built-in commands need from the agent that hosts them.
///
/// ```swift
/// let configuration = CommandConfiguration(
///     httpClient: HTTPClient.shared,
///     kubernetes: try? KubernetesAccess.inCluster(),
///     credentialStore: .kubernetesSecret(namespace: "claiflow")
/// )
/// let catalog = try CommandCatalog.builtin(configuration)
/// ```
public struct CommandConfiguration: Sendable {
    /// The shared HTTP client used by the Kubernetes, Prometheus and `http.request` commands.
    /// The catalog never shuts it down.
    public var httpClient: HTTPClient
    /// How to reach the Kubernetes API server. nil: every `kubernetes.*` command fails with
    /// "no Kubernetes access configured".
    public var kubernetes: KubernetesAccess?
    /// The `helm` executable. nil: `helm` is looked up on `PATH` each time a `helm.*` command runs.
    public var helmPath: String?
    /// Where `claiflow.credential.*` keep credentials.
    public var credentialStore: CredentialStoreConfiguration
    /// The logger the commands log to (debug level: requests and helm invocations, never secrets).
    public var logger: Logger
    /// Tests: the `PATH` to look `helm` up in instead of the process's.
    var helmSearchPath: String?

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - httpClient: The shared HTTP client.
    ///   - kubernetes: Kubernetes API access, or nil for none.
    ///   - helmPath: The `helm` executable, or nil to look it up on `PATH` at call time.
    ///   - credentialStore: Where credentials are kept; `.disabled` makes the credential commands fail.
    ///   - logger: The commands' logger.
    public init(
        httpClient: HTTPClient,
        kubernetes: KubernetesAccess? = nil,
        helmPath: String? = nil,
        credentialStore: CredentialStoreConfiguration = .disabled,
        logger: Logger = Logger(label: "claiflow.commands")
    ) {
        self.httpClient = httpClient
        self.kubernetes = kubernetes
        self.helmPath = helmPath
        self.credentialStore = credentialStore
        self.logger = logger
    }
}

/// Where the `claiflow.credential.*` commands keep credentials.
public enum CredentialStoreConfiguration: Sendable, Equatable {
    /// A Kubernetes Secret (by default `claiflow-credential`) in the given namespace, normally the
    /// agent's own. Needs ``CommandConfiguration/kubernetes``. Credentials appear in the inputs'
    /// `storage` field as `k8s/secret`.
    case kubernetesSecret(namespace: String, name: String = "claiflow-credential")
    /// A local file holding all credentials as one JSON document sealed with AES-256-GCM.
    /// `key` must be 32 bytes (see ``CredentialStoreConfiguration/fileKey(fromSecret:)``).
    /// Credentials appear in the inputs' `storage` field as `volume`.
    case file(path: String, key: Data)
    /// No credential storage: the credential commands fail with "no credential storage configured".
    case disabled

    /// Derives a 32-byte file key from a secret text (HKDF-SHA256 with a fixed, claiflow-specific
    /// salt), for agents configured with a passphrase rather than raw key bytes.
    public static func fileKey(fromSecret secret: String) -> Data {
        CredentialCrypto.deriveKey(fromSecret: secret)
    }
}
