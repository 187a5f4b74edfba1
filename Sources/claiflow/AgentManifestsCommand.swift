import ArgumentParser
import ClaiflowCore
import ClaiflowInstall

/// `claiflow agent manifests`: prints the Kubernetes objects that install an agent for a cluster
/// that already exists on the server, with a token created for it.
struct AgentManifestsCommand: ParsableCommand {
    static let configuration = ArgumentParser.CommandConfiguration(
        commandName: "manifests",
        abstract: "Print the YAML that installs an agent in a Kubernetes cluster (pipe it to kubectl apply -f -).",
        discussion: """
            Namespace, ServiceAccount, ClusterRole and ClusterRoleBinding (derived from the command \
            catalog at the --rbac level), Role and RoleBinding (the agent's own namespace: its credential \
            Secret and its Deployment for claiflow.client.upgrade), Secret (the token) and the Deployment \
            running `claiflow agent` with probes on its health endpoint.

            Example:
              claiflow agent manifests --cluster-name prod-eu-1 --cluster-uuid prod-eu-1 \\
                --token "$TOKEN" --server https://claiflow.example.com | kubectl apply -f -
            """
    )

    @Option(help: "The cluster's uuid on the server.")
    var clusterUUID: String

    @Option(help: "The cluster's name (a label on the objects; the uuid when not given).")
    var clusterName: String?

    @Option(help: "The cluster token's secret (the Secret holds it).")
    var token: String

    @Option(help: "The server's URL as the agent reaches it.")
    var server: String

    @Option(help: "The namespace the agent runs in.")
    var namespace = "claiflow"

    @Option(help: "The agent's container image.")
    var image = AgentInstallOptions.defaultImage

    @Option(help: "read-only, standard or admin.")
    var rbac = "standard"

    @Option(help: "The port of the agent's health endpoint.")
    var healthPort = AgentInstallOptions.defaultHealthPort

    @Option(name: [.customShort("l"), .customLong("label")], help: "An extra label key=value on every object (repeatable).")
    var labels: [String] = []

    func run() throws {
        guard let level = RBACLevel(rawValue: rbac) else {
            throw ValidationError("--rbac: must be read-only, standard or admin, got \"\(rbac)\"")
        }
        var extra: [String: String] = [:]
        for label in labels {
            guard let equals = label.firstIndex(of: "="), equals != label.startIndex else {
                throw ValidationError("--label: expected key=value, got \"\(label)\"")
            }
            extra[String(label[..<equals])] = String(label[label.index(after: equals)...])
        }
        let options = AgentInstallOptions(
            clusterName: clusterName ?? clusterUUID, clusterUUID: clusterUUID, token: token, serverURL: server,
            namespace: namespace, image: image, rbac: level, labels: extra, healthPort: healthPort)
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.message)
        }
        print(AgentManifests.render(options), terminator: "")
    }
}
