import ClaiflowAgent
import ClaiflowCore

/// What ``AgentManifests/render(_:)`` needs to install an agent in a cluster.
///
/// ```swift
/// let options = AgentInstallOptions(
///     clusterName: "prod-eu-1", clusterUUID: cluster.uuid, token: token.secret,
///     serverURL: "https://claiflow.example.com", rbac: .standard)
/// print(AgentManifests.render(options))  // | kubectl apply -f -
/// ```
public struct AgentInstallOptions: Sendable {
    /// The image used when none is given: the published image of this version.
    public static let defaultImage = "ghcr.io/claiflow/claiflow:" + AgentRuntime.libraryVersion
    /// The default port of the agent's health endpoint in the Deployment.
    public static let defaultHealthPort = 8098

    /// The cluster's name on the server (a label on every object).
    public var clusterName: String
    /// The cluster's uuid on the server (`CLAIFLOW_CLUSTER`).
    public var clusterUUID: String
    /// The cluster token's secret, stored in the Secret the agent reads `CLAIFLOW_TOKEN` from.
    public var token: String
    /// The server's URL as the agent reaches it (`CLAIFLOW_SERVER`).
    public var serverURL: String
    /// The namespace the agent runs in (created by the manifests).
    public var namespace: String
    /// The agent's container image.
    public var image: String
    /// What the agent may do in the cluster.
    public var rbac: RBACLevel
    /// Extra Kubernetes labels on every object.
    public var labels: [String: String]
    /// The port of the health endpoint (`CLAIFLOW_HEALTH_PORT`) the probes use.
    public var healthPort: Int

    /// Creates options with the defaults: namespace `claiflow`, ``defaultImage``, `standard` RBAC,
    /// health port ``defaultHealthPort``.
    public init(
        clusterName: String, clusterUUID: String, token: String, serverURL: String, namespace: String = "claiflow",
        image: String = AgentInstallOptions.defaultImage, rbac: RBACLevel = .standard, labels: [String: String] = [:],
        healthPort: Int = AgentInstallOptions.defaultHealthPort
    ) {
        self.clusterName = clusterName
        self.clusterUUID = clusterUUID
        self.token = token
        self.serverURL = serverURL
        self.namespace = namespace
        self.image = image
        self.rbac = rbac
        self.labels = labels
        self.healthPort = healthPort
    }

    /// Checks what Kubernetes or the agent would refuse later; the error names the option.
    ///
    /// - Throws: ``ClaiflowCore/ClaiflowError`` `.invalidArgument`.
    public func validate() throws(ClaiflowError) {
        // The agent checks the same at start: better refused here than in a crash-looping pod.
        try AgentConfiguration(serverURL: serverURL, clusterUUID: clusterUUID, token: token).validate()
        guard Self.isDNSLabel(namespace) else {
            throw ClaiflowError(
                .invalidArgument,
                "namespace: must be a DNS label (lowercase letters, digits and '-', at most 63, starting and ending alphanumeric), got \"\(namespace)\""
            )
        }
        guard !image.isEmpty, !image.contains(where: \.isWhitespace) else {
            throw ClaiflowError(.invalidArgument, "image: must be an image reference without spaces, got \"\(image)\"")
        }
        guard (1...65535).contains(healthPort) else {
            throw ClaiflowError(.invalidArgument, "health port: must be from 1 to 65535, got \(healthPort)")
        }
    }

    /// A DNS-1123 label, as namespace names are.
    static func isDNSLabel(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last, text.unicodeScalars.count <= 63 else {
            return false
        }
        func alphanumeric(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) }
        return alphanumeric(first) && alphanumeric(last) && text.unicodeScalars.allSatisfy { alphanumeric($0) || $0 == "-" }
    }
}
