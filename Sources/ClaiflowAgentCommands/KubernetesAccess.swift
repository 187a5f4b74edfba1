import Foundation
import Yams

/// How to reach a Kubernetes API server: where it is, how to trust it, and who to be.
public struct KubernetesAccess: Sendable, Equatable {
    /// How requests authenticate.
    public enum Authentication: Sendable, Equatable {
        /// No credentials (only useful against an API server that allows anonymous access).
        case none
        /// A fixed bearer token.
        case bearerToken(String)
        /// A bearer token read from a file before every request, so a rotated service-account
        /// token is picked up (the in-cluster case).
        case bearerTokenFile(String)
        /// A TLS client certificate and its private key, both PEM.
        case clientCertificate(certificatePEM: String, privateKeyPEM: String)
    }

    /// The API server's base URL, such as `https://10.96.0.1:443` (no trailing slash needed).
    public var baseURL: String
    /// How requests authenticate.
    public var authentication: Authentication
    /// PEM certificates trusted for the API server's TLS certificate; nil uses the system's roots.
    public var certificateAuthorityPEM: String?
    /// Skips TLS verification of the API server (kubeconfig `insecure-skip-tls-verify`).
    public var insecureSkipTLSVerify: Bool
    /// The namespace the agent considers its own: the service account's namespace in a cluster,
    /// the context's namespace from a kubeconfig, else `default`.
    public var namespace: String
    /// Whether this access was built from the in-cluster service account.
    public var isInCluster: Bool

    /// Creates an access description.
    public init(
        baseURL: String,
        authentication: Authentication,
        certificateAuthorityPEM: String? = nil,
        insecureSkipTLSVerify: Bool = false,
        namespace: String = "default",
        isInCluster: Bool = false
    ) {
        self.baseURL = baseURL
        self.authentication = authentication
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
        self.isInCluster = isInCluster
    }

    /// The default service-account directory mounted into pods.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The in-cluster access of a pod: `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`, and the
    /// service account's `token` (re-read before each request), `ca.crt` and `namespace`.
    ///
    /// - Parameters:
    ///   - environment: The environment to read the service host and port from.
    ///   - serviceAccountDirectory: Where the service account files are mounted.
    /// - Throws: ``KubernetesConfigurationError`` when not running in a pod.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesAccess.serviceAccountDirectory
    ) throws -> KubernetesAccess {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesConfigurationError(
                "not running in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let directory = URL(fileURLWithPath: serviceAccountDirectory)
        let tokenPath = directory.appendingPathComponent("token").path
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesConfigurationError("not running in a Kubernetes cluster: cannot read \(tokenPath)")
        }
        let caPath = directory.appendingPathComponent("ca.crt").path
        let ca: String
        do {
            ca = try String(contentsOfFile: caPath, encoding: .utf8)
        } catch {
            throw KubernetesConfigurationError(
                "cannot read the service account CA bundle \(caPath): \(error.localizedDescription)")
        }
        let namespacePath = directory.appendingPathComponent("namespace").path
        let namespace = (try? String(contentsOfFile: namespacePath, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return KubernetesAccess(
            baseURL: "https://\(hostPart):\(port)",
            authentication: .bearerTokenFile(tokenPath),
            certificateAuthorityPEM: ca,
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            isInCluster: true
        )
    }

    /// The access described by a kubeconfig file's current context (or the named one).
    ///
    /// Reads the context's cluster (`server`, `certificate-authority` / `certificate-authority-data`,
    /// `insecure-skip-tls-verify`), user (`token`, `tokenFile`, `client-certificate` / `-data` with
    /// `client-key` / `-data`) and namespace. Relative file names are resolved against the
    /// kubeconfig's directory. Exec and auth-provider plugins are not supported.
    ///
    /// - Parameters:
    ///   - path: The kubeconfig file; nil means the first entry of `KUBECONFIG`, else `~/.kube/config`.
    ///   - context: The context to use; nil means `current-context`.
    public static func kubeconfig(path: String? = nil, context: String? = nil) throws -> KubernetesAccess {
        let file = path ?? defaultKubeconfigPath()
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw KubernetesConfigurationError("cannot read kubeconfig \(file): \(error.localizedDescription)")
        }
        let config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: text)
        } catch {
            throw KubernetesConfigurationError("kubeconfig \(file) is not valid: \(error)")
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        func resolve(_ name: String) -> String {
            name.hasPrefix("/") ? name : directory.appendingPathComponent(name).path
        }
        func readFile(_ name: String, _ what: String) throws -> String {
            let full = resolve(name)
            do {
                return try String(contentsOfFile: full, encoding: .utf8)
            } catch {
                throw KubernetesConfigurationError("cannot read the \(what) \(full): \(error.localizedDescription)")
            }
        }
        func decodeData(_ base64: String, _ what: String) throws -> String {
            guard let data = Data(base64Encoded: base64.filter { !$0.isWhitespace }),
                let text = String(data: data, encoding: .utf8)
            else {
                throw KubernetesConfigurationError("kubeconfig \(file): \(what) is not valid base64 PEM")
            }
            return text
        }

        guard let contextName = context ?? config.currentContext, !contextName.isEmpty else {
            throw KubernetesConfigurationError("kubeconfig \(file) has no current-context")
        }
        guard let namedContext = config.contexts?.first(where: { $0.name == contextName }) else {
            throw KubernetesConfigurationError("kubeconfig \(file) has no context \"\(contextName)\"")
        }
        guard let cluster = config.clusters?.first(where: { $0.name == namedContext.context.cluster })?.cluster else {
            throw KubernetesConfigurationError("kubeconfig \(file) has no cluster \"\(namedContext.context.cluster)\"")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw KubernetesConfigurationError("kubeconfig \(file): cluster \"\(namedContext.context.cluster)\" has no server")
        }

        var ca: String?
        if let data = cluster.certificateAuthorityData, !data.isEmpty {
            ca = try decodeData(data, "certificate-authority-data")
        } else if let name = cluster.certificateAuthority, !name.isEmpty {
            ca = try readFile(name, "certificate authority")
        }

        var authentication = Authentication.none
        if let userName = namedContext.context.user, !userName.isEmpty {
            guard let user = config.users?.first(where: { $0.name == userName })?.user else {
                throw KubernetesConfigurationError("kubeconfig \(file) has no user \"\(userName)\"")
            }
            if user.exec != nil || user.authProvider != nil {
                throw KubernetesConfigurationError(
                    "kubeconfig \(file): user \"\(userName)\" uses an exec or auth-provider plugin, which is not supported; use a token or a client certificate"
                )
            }
            var certificate: String?
            if let data = user.clientCertificateData, !data.isEmpty {
                certificate = try decodeData(data, "client-certificate-data")
            } else if let name = user.clientCertificate, !name.isEmpty {
                certificate = try readFile(name, "client certificate")
            }
            var key: String?
            if let data = user.clientKeyData, !data.isEmpty {
                key = try decodeData(data, "client-key-data")
            } else if let name = user.clientKey, !name.isEmpty {
                key = try readFile(name, "client key")
            }
            if let token = user.token, !token.isEmpty {
                authentication = .bearerToken(token)
            } else if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
                authentication = .bearerTokenFile(resolve(tokenFile))
            } else if let certificate, let key {
                authentication = .clientCertificate(certificatePEM: certificate, privateKeyPEM: key)
            } else if certificate != nil || key != nil {
                throw KubernetesConfigurationError(
                    "kubeconfig \(file): user \"\(userName)\" needs both a client certificate and a client key")
            }
        }
        let namespace = namedContext.context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return KubernetesAccess(
            baseURL: server,
            authentication: authentication,
            certificateAuthorityPEM: ca,
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false,
            namespace: namespace,
            isInCluster: false
        )
    }

    /// `KUBECONFIG`'s first entry, else `~/.kube/config`.
    static func defaultKubeconfigPath() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let list = environment["KUBECONFIG"], let first = list.split(separator: ":").first, !first.isEmpty {
            return String(first)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".kube/config").path
    }
}

/// A Kubernetes access configuration that cannot be used (not in a cluster, bad kubeconfig).
public struct KubernetesConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// What is wrong.
    public var description: String { message }
}

/// The parts of a kubeconfig file that are read.
private struct Kubeconfig: Decodable {
    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster
    }
    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }
    struct NamedUser: Decodable {
        var name: String
        var user: User
    }
    struct Plugin: Decodable {}
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var exec: Plugin?
        var authProvider: Plugin?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }
    struct NamedContext: Decodable {
        var name: String
        var context: Context
    }
    struct Context: Decodable {
        var cluster: String
        var user: String?
        var namespace: String?
    }

    var currentContext: String?
    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}
