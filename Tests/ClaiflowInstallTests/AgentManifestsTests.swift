import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowInstall
import ClaiflowStore
import Foundation
import Testing
import Yams

@Suite("agent install manifests")
struct AgentManifestsTests {
    static let options = AgentInstallOptions(
        clusterName: "prod-eu-1", clusterUUID: "c0ffee00c0ffee00c0ffee00c0ffee00", token: "s3cr3t:\"quoted\"\nline",
        serverURL: "https://claiflow.example.com", namespace: "claiflow-agents", image: "registry:5000/claiflow:0.3.0",
        rbac: .standard, labels: ["team": "platform", "yes": "true"], healthPort: 9000)

    /// The documents of the rendered YAML, parsed by Yams.
    static func documents(_ options: AgentInstallOptions) throws -> [[String: Any]] {
        let text = AgentManifests.render(options)
        return try Yams.load_all(yaml: text).map { document in
            try #require(document as? [String: Any], "every document is a mapping")
        }
    }

    static func document(_ documents: [[String: Any]], kind: String) throws -> [String: Any] {
        try #require(documents.first { $0["kind"] as? String == kind }, "a \(kind)")
    }

    /// A ClusterRole's or Role's rules as KubernetesRule values.
    static func rules(_ role: [String: Any]) throws -> [KubernetesRule] {
        let items = try #require(role["rules"] as? [[String: Any]])
        return items.compactMap { item in
            guard let resources = item["resources"] as? [String] else { return nil }  // nonResourceURLs
            return KubernetesRule(
                apiGroups: item["apiGroups"] as? [String] ?? [], resources: resources, verbs: item["verbs"] as? [String] ?? [],
                resourceNames: item["resourceNames"] as? [String] ?? [])
        }
    }

    @Test("the YAML parses into Namespace, ServiceAccount, ClusterRole(Binding), Role(Binding), Secret and Deployment")
    func kinds() throws {
        for level in RBACLevel.allCases {
            var options = Self.options
            options.rbac = level
            let documents = try Self.documents(options)
            #expect(
                documents.map { $0["kind"] as? String } == [
                    "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret",
                    "Deployment",
                ])
            for document in documents {
                let metadata = try #require(document["metadata"] as? [String: Any])
                let labels = try #require(metadata["labels"] as? [String: String])
                #expect(labels["claiflow.io/cluster"] == "prod-eu-1")
                #expect(labels["team"] == "platform")
                #expect(labels["yes"] == "true", "a value YAML would read as a boolean stays a string")
                let kind = document["kind"] as? String ?? ""
                let clusterScoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"].contains(kind)
                #expect((metadata["namespace"] as? String) == (clusterScoped ? nil : "claiflow-agents"), "\(kind)")
            }
            let namespace = try Self.document(documents, kind: "Namespace")
            #expect((namespace["metadata"] as? [String: Any])?["name"] as? String == "claiflow-agents")
            for kind in ["ClusterRoleBinding", "RoleBinding"] {
                let binding = try Self.document(documents, kind: kind)
                let subjects = try #require(binding["subjects"] as? [[String: String]])
                #expect(subjects == [["kind": "ServiceAccount", "name": "claiflow-agent", "namespace": "claiflow-agents"]])
                let roleRef = try #require(binding["roleRef"] as? [String: String])
                let role = try Self.document(documents, kind: kind.replacingOccurrences(of: "Binding", with: ""))
                #expect(roleRef["name"] == (role["metadata"] as? [String: Any])?["name"] as? String)
            }
        }
    }

    @Test("the Secret holds the token and the Deployment runs the agent with it, non-root, read-only, probed")
    func deployment() throws {
        let documents = try Self.documents(Self.options)
        let secret = try Self.document(documents, kind: "Secret")
        #expect((secret["stringData"] as? [String: String])?["token"] == "s3cr3t:\"quoted\"\nline")

        let deployment = try Self.document(documents, kind: "Deployment")
        let spec = try #require(deployment["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        let selector = try #require((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        let podLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        for (key, value) in selector { #expect(podLabels[key] == value) }
        let pod = try #require(template["spec"] as? [String: Any])
        #expect(pod["serviceAccountName"] as? String == "claiflow-agent")
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(container["image"] as? String == "registry:5000/claiflow:0.3.0")
        #expect(container["args"] as? [String] == ["agent"])
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        let resources = try #require(container["resources"] as? [String: Any])
        #expect(resources["requests"] != nil && resources["limits"] != nil)

        let env = try #require(container["env"] as? [[String: Any]])
        func variable(_ name: String) -> [String: Any]? { env.first { $0["name"] as? String == name } }
        #expect(variable("CLAIFLOW_SERVER")?["value"] as? String == "https://claiflow.example.com")
        #expect(variable("CLAIFLOW_CLUSTER")?["value"] as? String == "c0ffee00c0ffee00c0ffee00c0ffee00")
        #expect(variable("CLAIFLOW_HEALTH_PORT")?["value"] as? String == "9000", "a string, as env values must be")
        let tokenRef = (variable("CLAIFLOW_TOKEN")?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: String]
        #expect(tokenRef == ["name": "claiflow-agent", "key": "token"])
        #expect(variable("POD_NAME") != nil, "claiflow.client.upgrade finds its pod by POD_NAME")

        let ports = try #require(container["ports"] as? [[String: Any]])
        #expect(ports.first?["containerPort"] as? Int == 9000)
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = (container[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["path"] as? String == path)
            #expect(get?["port"] as? String == "health")
        }
    }

    /// Every `$command` in a flow, nested steps included.
    static func commands(in value: JSONValue) -> [String] {
        switch value {
        case .object(let fields):
            var found: [String] = []
            if case .string(let command)? = fields["$command"] { found.append(command) }
            for (_, nested) in fields { found += commands(in: nested) }
            return found
        case .array(let items): return items.flatMap(commands(in:))
        default: return []
        }
    }

    /// What a `kubernetes.<resource>.<verb>.<groupVersion>` command needs, read from its name alone.
    static func needFromName(_ command: String) -> (group: String, resource: String, verbs: [String])? {
        let parts = command.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "kubernetes" else { return nil }
        let groupVersion = parts[3]
        let group = groupVersion.contains("/") ? String(groupVersion.split(separator: "/")[0]) : ""
        switch parts[2] {
        case "exec": return (group, "pods/exec", ["create"])
        default: return (group, parts[1], [parts[2]])
        }
    }

    @Test("the standard ClusterRole and Role cover every resource and verb of the default templates' commands")
    func standardCoversTemplates() throws {
        let documents = try Self.documents(Self.options)
        let rbac = AgentRBAC(
            clusterRules: try Self.rules(try Self.document(documents, kind: "ClusterRole")),
            namespaceRules: try Self.rules(try Self.document(documents, kind: "Role")))
        let templates = try DefaultTemplates.load()
        #expect(templates.count == 235)
        var adminOnly: Set<String> = []
        var checked = 0
        for template in templates {
            for command in Self.commands(in: try JSONValue.parse(Array(template.flow.utf8))) {
                let permission = try #require(CommandCatalog.permissions[command], "\(template.name): \(command) is declared")
                if permission.level == .admin {
                    adminOnly.insert(command)
                    continue
                }
                for rule in permission.clusterRules {
                    for group in rule.apiGroups {
                        for resource in rule.resources {
                            for verb in rule.verbs {
                                #expect(
                                    rbac.allows(group: group, resource: resource, verb: verb, inAgentNamespace: false),
                                    "\(template.name): \(verb) \(resource).\(group)")
                            }
                        }
                    }
                }
                for rule in permission.agentNamespaceRules {
                    for group in rule.apiGroups {
                        for resource in rule.resources {
                            for verb in rule.verbs {
                                let names = rule.resourceNames.isEmpty ? [nil] : rule.resourceNames.map(Optional.some)
                                for name in names {
                                    #expect(
                                        rbac.allows(
                                            group: group, resource: resource, verb: verb, inAgentNamespace: true, name: name),
                                        "\(template.name): \(verb) \(resource).\(group) in the agent's namespace")
                                }
                            }
                        }
                    }
                }
                // Independent of the declarations: the need a kubernetes.* command's name states.
                if let need = Self.needFromName(command) {
                    for verb in need.verbs {
                        #expect(
                            rbac.allows(group: need.group, resource: need.resource, verb: verb, inAgentNamespace: false),
                            "\(command)")
                    }
                }
                checked += 1
            }
        }
        #expect(checked == 231)
        // Helm installs of arbitrary charts are what the admin level is for.
        #expect(adminOnly == ["helm.install", "helm.upgrade", "helm.rollback", "helm.uninstall"])

        var admin = Self.options
        admin.rbac = .admin
        let adminRules = try Self.rules(try Self.document(try Self.documents(admin), kind: "ClusterRole"))
        #expect(
            adminRules.contains {
                $0.allows(group: "apiextensions.k8s.io", resource: "customresourcedefinitions", verb: "create")
            })
    }

    @Test("read-only grants get, list and watch on what the read commands touch, and no write")
    func readOnly() throws {
        var options = Self.options
        options.rbac = .readOnly
        let documents = try Self.documents(options)
        let cluster = try Self.rules(try Self.document(documents, kind: "ClusterRole"))
        let namespace = try Self.rules(try Self.document(documents, kind: "Role"))
        let verbs = Set((cluster + namespace).flatMap(\.verbs))
        #expect(verbs == ["get", "list", "watch"])
        #expect(cluster.contains { $0.allows(group: "apps", resource: "deployments", verb: "watch") })
        #expect(cluster.contains { $0.allows(group: "", resource: "nodes", verb: "list") })
        #expect(!cluster.contains { $0.allows(group: "", resource: "pods/exec", verb: "create") })
        #expect(namespace.contains { $0.allows(group: "", resource: "secrets", verb: "get", name: "claiflow-credential") })

        let standard = try Self.rules(try Self.document(try Self.documents(Self.options), kind: "ClusterRole"))
        #expect(standard.contains { $0.allows(group: "", resource: "pods/exec", verb: "create") })
        #expect(standard.contains { $0.allows(group: "apps", resource: "deployments", verb: "patch") })
        #expect(
            !standard.contains { $0.allows(group: "apps", resource: "deployments", verb: "create") }, "no command creates one")
        #expect(!standard.contains { $0.verbs.contains("*") || $0.resources.contains("*") })
    }

    @Test("validate names the option Kubernetes or the agent would refuse")
    func validate() throws {
        try Self.options.validate()
        func message(_ change: (inout AgentInstallOptions) -> Void) -> String? {
            var options = Self.options
            change(&options)
            do {
                try options.validate()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message { $0.namespace = "Claiflow" }?.hasPrefix("namespace: must be a DNS label") == true)
        #expect(message { $0.namespace = String(repeating: "a", count: 64) }?.hasPrefix("namespace:") == true)
        #expect(message { $0.serverURL = "ftp://x" }?.hasPrefix("server: ") == true)
        #expect(message { $0.token = "" }?.hasPrefix("token: ") == true)
        #expect(message { $0.clusterUUID = "" }?.hasPrefix("cluster: ") == true)
        #expect(message { $0.image = "a b" }?.hasPrefix("image: ") == true)
        #expect(message { $0.healthPort = 0 } == "health port: must be from 1 to 65535, got 0")
    }

    @Test("YAML scalars that could be read as something else are quoted")
    func quoting() throws {
        let options = AgentInstallOptions(
            clusterName: "on", clusterUUID: "0123", token: "null", serverURL: "http://h:1/x # y", labels: ["a": "- b: c"])
        let documents = try Self.documents(options)
        let deployment = try Self.document(documents, kind: "Deployment")
        let container = try #require(
            (((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
                as? [[String: Any]])
        let env = try #require(container.first?["env"] as? [[String: Any]])
        #expect(env.first { $0["name"] as? String == "CLAIFLOW_CLUSTER" }?["value"] as? String == "0123")
        #expect(env.first { $0["name"] as? String == "CLAIFLOW_SERVER" }?["value"] as? String == "http://h:1/x # y")
        let secret = try Self.document(documents, kind: "Secret")
        #expect((secret["stringData"] as? [String: String])?["token"] == "null")

        var controls = options
        controls.token = "a\u{7F}b\u{01}c\u{85}d\té"
        let parsed = try Self.document(try Self.documents(controls), kind: "Secret")
        #expect((parsed["stringData"] as? [String: String])?["token"] == controls.token)
    }
}
