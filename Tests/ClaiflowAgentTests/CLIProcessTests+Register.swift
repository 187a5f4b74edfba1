import ClaiflowAPIClient
import ClaiflowCLI
import Foundation
import Testing
import Yams

extension CLIProcessTests {
    /// The objects of `claiflow cluster register`'s output, parsed by Yams.
    static func manifests(_ text: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: text).map { try #require($0 as? [String: Any], "a YAML mapping") }
    }

    /// The one object of `kind` in `documents`.
    static func object(_ documents: [[String: Any]], _ kind: String) throws -> [String: Any] {
        try #require(documents.first { $0["kind"] as? String == kind }, "a \(kind)")
    }

    /// The agent container's environment variables with a literal value.
    static func agentEnvironment(_ documents: [[String: Any]]) throws -> [String: String] {
        let deployment = try object(documents, "Deployment")
        let template = try #require((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])
        let pod = try #require(template["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let env = try #require(container["env"] as? [[String: Any]])
        var values: [String: String] = [:]
        for variable in env {
            if let name = variable["name"] as? String, let value = variable["value"] as? String { values[name] = value }
        }
        return values
    }

    @Test(
        "cluster register creates the labeled cluster and a token, and prints only the manifests, whose token an agent logs in with"
    )
    func register() async throws {
        try await Self.with { s in
            _ = try await s.ok(["login", "--server", s.url, "--api-key", ServerProcess.adminToken])

            // Usage errors create nothing.
            let badRBAC = try await s.cli(["cluster", "register", "prod-eu-1", "--rbac", "root"])
            #expect(badRBAC.status == CLIExitCode.usage)
            #expect(badRBAC.stderr.contains("--rbac: must be read-only, standard or admin"), "\(badRBAC.stderr)")
            let badNamespace = try await s.cli(["cluster", "register", "prod-eu-1", "--namespace", "Not_A_Label"])
            #expect(badNamespace.status == CLIExitCode.usage)
            #expect(badNamespace.stderr.contains("namespace: must be a DNS label"), "\(badNamespace.stderr)")
            #expect(
                try Self.decode([Components.Schemas.Cluster].self, try await s.ok(["cluster", "list", "-o", "json"])).isEmpty)

            let registered = try await s.cli(["cluster", "register", "prod-eu-1", "-l", "env=prod", "-l", "region=eu"])
            #expect(registered.status == 0, "\(registered.stderr)")
            #expect(registered.stdout.hasPrefix("---\n"))
            #expect(registered.stderr.contains("created"))
            let documents = try Self.manifests(registered.stdout)
            #expect(
                documents.map { $0["kind"] as? String } == [
                    "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret",
                    "Deployment",
                ])

            let clusters = try Self.decode([Components.Schemas.Cluster].self, try await s.ok(["cluster", "list", "-o", "json"]))
            let cluster = try #require(clusters.first)
            #expect(clusters.count == 1)
            #expect(cluster.name == "prod-eu-1" && cluster.labels.additionalProperties == ["env": "prod", "region": "eu"])
            let tokens = try Self.decode(
                [Components.Schemas.ClusterToken].self,
                try await s.ok(["token", "list", "--cluster", cluster.uuid, "-o", "json"]))
            #expect(tokens.map(\.name) == ["prod-eu-1 agent"])

            let env = try Self.agentEnvironment(documents)
            #expect(env["CLAIFLOW_SERVER"] == s.url)
            #expect(env["CLAIFLOW_CLUSTER"] == cluster.uuid)
            let secret = try Self.object(documents, "Secret")
            let token = try #require((secret["stringData"] as? [String: String])?["token"])

            // The Secret's token is the cluster's: an agent with it runs a service there.
            let agent = try AgentProcess(serverPort: s.server.port, cluster: cluster.uuid, token: token)
            defer { agent.stop() }
            let echo = s.config.appendingPathComponent("echo.json")
            try #"{"name":"echo-it","flow":[{"$id":"e","$command":"claiflow.echo","inputs":{"said":"hi"}}]}"#
                .write(to: echo, atomically: true, encoding: .utf8)
            _ = try await s.ok(["template", "create", "-f", echo.path])
            let ran = try await s.cli(["service", "run", "echo-it", "--cluster", "prod-eu-1", "--wait"])
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(ran.stdout.contains("\"said\" : \"hi\""), "\(ran.stdout)")

            // A name that exists: exit 1, and no second cluster or token.
            let again = try await s.cli(["cluster", "register", "prod-eu-1"])
            #expect(again.status == CLIExitCode.failure)
            #expect(again.stderr.contains("a cluster named \"prod-eu-1\" already exists"), "\(again.stderr)")
            #expect(again.stdout.isEmpty)
            let allTokens = try Self.decode(
                [Components.Schemas.ClusterToken].self, try await s.ok(["token", "list", "-o", "json"]))
            #expect(allTokens.count == 1)

            // The agent's server URL, namespace and RBAC level as given.
            let edge = try await s.ok([
                "cluster", "register", "edge-7", "--uuid", "edge7", "--rbac", "read-only", "--namespace", "agents",
                "--agent-server", "https://claiflow.internal:8443",
            ])
            let edgeDocuments = try Self.manifests(edge)
            let edgeEnv = try Self.agentEnvironment(edgeDocuments)
            #expect(edgeEnv["CLAIFLOW_SERVER"] == "https://claiflow.internal:8443")
            #expect(edgeEnv["CLAIFLOW_CLUSTER"] == "edge7")
            let namespace = try Self.object(edgeDocuments, "Namespace")
            #expect((namespace["metadata"] as? [String: Any])?["name"] as? String == "agents")
            let role = try Self.object(edgeDocuments, "ClusterRole")
            let verbs = ((role["rules"] as? [[String: Any]]) ?? []).flatMap { $0["verbs"] as? [String] ?? [] }
            #expect(!verbs.isEmpty && Set(verbs).isSubset(of: ["get", "list", "watch"]), "\(verbs)")
        }
    }
}
