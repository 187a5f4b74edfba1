import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import ClaiflowCore
import ClaiflowInstall
import Foundation

/// `claiflow cluster register`: creates a cluster and a token for its agent, then prints the
/// Kubernetes objects that install the agent (only the YAML goes to standard output, so it can be
/// piped to `kubectl apply -f -`).
struct ClusterRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Create a cluster and its agent's token, and print the YAML that installs the agent.",
        discussion: """
            Creates the cluster (with its labels) and a cluster token, then prints the Namespace, \
            ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding, Secret (the token) and \
            Deployment of `claiflow agent manifests`. Only the YAML goes to standard output; messages \
            go to standard error. A cluster of that name must not exist yet.

            Examples:
              claiflow cluster register prod-eu-1 -l env=prod | kubectl apply -f -
              claiflow cluster register edge-7 --rbac read-only \\
                --agent-server https://claiflow.internal:8080 > edge-7.yaml
            """
    )

    @Argument(help: "The cluster's name (must not exist yet).") var name: String
    @Option(help: "The cluster's uuid (default: generated).") var uuid: String?
    @Option(name: [.customShort("l"), .customLong("label")], help: "A label key=value of the cluster (repeatable).")
    var labels: [String] = []
    @Option(help: "The namespace the agent runs in.") var namespace = "claiflow"
    @Option(help: "The agent's container image.") var image = AgentInstallOptions.defaultImage
    @Option(help: "What the agent may do in the cluster: read-only, standard or admin.") var rbac = "standard"
    @Option(help: "The port of the agent's health endpoint.") var healthPort = AgentInstallOptions.defaultHealthPort
    @Option(
        help: ArgumentHelp(
            "The server's URL as the agent reaches it (default: the URL this command talks to).", valueName: "url"))
    var agentServer: String?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard RBACLevel(rawValue: rbac) != nil else {
            throw ValidationError("--rbac: must be read-only, standard or admin, got \"\(rbac)\"")
        }
        _ = try LabelArguments.parse(labels)
    }

    func run() async throws {
        let client = try connection.client()
        let level = RBACLevel(rawValue: rbac) ?? .standard
        func options(uuid: String, token: String) -> AgentInstallOptions {
            AgentInstallOptions(
                clusterName: name, clusterUUID: uuid, token: token, serverURL: agentServer ?? client.server,
                namespace: namespace, image: image, rbac: level, healthPort: healthPort)
        }
        // Refused before anything is created: the cluster's uuid and token are not known yet.
        do {
            try options(uuid: uuid ?? "pending", token: "pending").validate()
        } catch {
            throw CLIError.usage(error.message)
        }
        let existing = try await client.clusters(named: name)
        guard existing.isEmpty else {
            throw CLIError(
                "a cluster named \"\(name)\" already exists (\(existing.map(\.uuid).joined(separator: ", "))): "
                    + "install its agent with `claiflow token create` and `claiflow agent manifests`")
        }
        let body = Components.Schemas.ClusterCreate(
            uuid: uuid, name: name, labels: .init(additionalProperties: try LabelArguments.parse(labels)))
        let cluster = try await client.api.createCluster(body: .json(body)).ok.body.json
        Terminal.error("cluster \(cluster.uuid) (\(cluster.name)) created")
        let token = try await client.api.createClusterToken(
            body: .json(.init(name: "\(cluster.name) agent", clusterUuid: cluster.uuid))
        ).ok.body.json
        guard let secret = token.token else { throw CLIError("the server returned the token \(token.uuid) without its secret") }
        Terminal.error("token \(token.uuid) created")
        let install = options(uuid: cluster.uuid, token: secret)
        do {
            try install.validate()
        } catch {
            throw CLIError(error.message)
        }
        Terminal.write(AgentManifests.render(install))
    }
}
