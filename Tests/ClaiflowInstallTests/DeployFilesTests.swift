import ClaiflowAgent
import ClaiflowInstall
import ClaiflowServer
import Foundation
import Testing
import Yams

/// The files under deploy/ and the Containerfile, checked without kubectl or helm: they parse,
/// hold the expected kinds, and name only settings the binary has.
@Suite("deploy files")
struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func files(under path: String, extension ext: String) throws -> [String] {
        let base = root.appendingPathComponent(path)
        let enumerator = try #require(FileManager.default.enumerator(atPath: base.path))
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix("." + ext) }.sorted().map { "\(path)/\($0)" }
    }

    /// Every `CLAIFLOW_*` variable named in a text.
    static func settingVariables(_ text: String) -> Set<String> {
        let regex = /CLAIFLOW_[A-Z_]+/
        return Set(text.matches(of: regex).map { String($0.output) })
    }

    static let knownVariables =
        Set(ServerSetting.allCases.map(\.environmentName) + AgentSetting.allCases.map(\.environmentName))

    @Test(
        "every file under deploy/kubernetes parses into the expected kinds, probed on /healthz, non-root, Service on 8099 and 18099"
    )
    func kubernetes() throws {
        let files = try Self.files(under: "deploy/kubernetes", extension: "yaml")
        #expect(files == ["deploy/kubernetes/server-postgres.yaml", "deploy/kubernetes/server-sqlite.yaml"])
        for file in files {
            let text = try Self.text(file)
            let documents = try Yams.load_all(yaml: text).map { try #require($0 as? [String: Any], "\(file)") }
            let kinds = documents.compactMap { $0["kind"] as? String }
            #expect(kinds.count == documents.count, "\(file): every document has a kind")
            let expected =
                file.hasSuffix("sqlite.yaml")
                ? ["Namespace", "Secret", "PersistentVolumeClaim", "Deployment", "Service"]
                : ["Namespace", "Secret", "Deployment", "PodDisruptionBudget", "Service"]
            #expect(kinds == expected, "\(file)")
            #expect(Self.settingVariables(text).subtracting(Self.knownVariables) == [], "\(file) names unknown settings")

            let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
            let spec = try #require(deployment["spec"] as? [String: Any])
            #expect((spec["replicas"] as? Int).map { file.hasSuffix("sqlite.yaml") ? $0 == 1 : $0 > 1 } == true, "\(file)")
            let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
            #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            #expect(container["args"] as? [String] == ["server"])
            #expect((container["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool == true)
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                let get = (container[probe] as? [String: Any])?["httpGet"] as? [String: Any]
                #expect(get?["path"] as? String == "/healthz", "\(file) \(probe)")
            }
            let env = try #require(container["env"] as? [[String: Any]])
            let database = try #require(env.first { $0["name"] as? String == "CLAIFLOW_DATABASE" })
            if file.hasSuffix("sqlite.yaml") {
                #expect((database["value"] as? String)?.hasPrefix("sqlite:/var/lib/claiflow/data/") == true)
            } else {
                #expect(
                    (database["valueFrom"] as? [String: Any])?["secretKeyRef"] != nil, "the PostgreSQL URL comes from a Secret")
            }
            let service = try #require(documents.first { $0["kind"] as? String == "Service" })
            let ports = try #require((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]])
            #expect(
                ports.compactMap { $0["port"] as? Int } == [
                    Int(ServerSetting.port.documentedDefault), Int(ServerSetting.grpcPort.documentedDefault),
                ])
        }
    }

    @Test("the Helm chart: Chart.yaml and values.yaml parse, every .Values reference exists, the agent rules are the catalog's")
    func helmChart() throws {
        let chart = try #require(try Yams.load(yaml: try Self.text("deploy/helm/claiflow/Chart.yaml")) as? [String: Any])
        #expect(chart["apiVersion"] as? String == "v2")
        #expect(chart["name"] as? String == "claiflow")
        let values = try #require(try Yams.load(yaml: try Self.text("deploy/helm/claiflow/values.yaml")) as? [String: Any])
        let server = try #require(values["server"] as? [String: Any])
        #expect(["sqlite", "postgres"].contains(server["database"] as? String))
        let agent = try #require(values["agent"] as? [String: Any])
        #expect(RBACLevel(rawValue: agent["rbac"] as? String ?? "") != nil)
        #expect(agent["healthPort"] as? Int == AgentInstallOptions.defaultHealthPort)

        // Every .Values.a.b the templates read is defined in values.yaml.
        let templates =
            try Self.files(under: "deploy/helm/claiflow/templates", extension: "yaml")
            + Self.files(under: "deploy/helm/claiflow/templates", extension: "tpl")
            + Self.files(under: "deploy/helm/claiflow/templates", extension: "txt")
        #expect(templates.count >= 4)
        for file in templates {
            let text = try Self.text(file)
            for match in text.matches(of: /\.Values\.([A-Za-z0-9_.]+)/) {
                var node: Any? = values
                for key in match.output.1.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
                #expect(node != nil, "\(file): .Values.\(match.output.1) is not in values.yaml")
            }
            #expect(Self.settingVariables(text).subtracting(Self.knownVariables) == [], "\(file) names unknown settings")
        }

        // The agent's rules ship as generated files; CLAIFLOW_UPDATE_CHART_RULES=1 rewrites them.
        for level in RBACLevel.allCases {
            let path = "deploy/helm/claiflow/files/agent-rules/\(level.rawValue).yaml"
            let expected = AgentManifests.rulesDocument(level)
            if ProcessInfo.processInfo.environment["CLAIFLOW_UPDATE_CHART_RULES"] == "1" {
                try expected.write(to: Self.root.appendingPathComponent(path), atomically: true, encoding: .utf8)
            }
            let shipped = (try? Self.text(path)) ?? ""
            #expect(
                shipped == expected,
                "\(path) differs from the catalog's rules: run the test with CLAIFLOW_UPDATE_CHART_RULES=1")
            let parsed = try #require(try Yams.load(yaml: shipped) as? [String: Any])
            #expect(parsed["clusterRules"] is [Any] && parsed["namespaceRules"] is [Any], "\(path)")
        }
    }

    @Test("the Containerfile builds with the Swift 6.3 image and runs on slim Debian as a non-root user")
    func containerfile() throws {
        let text = try Self.text("Containerfile")
        let from = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(from.count == 2)
        #expect(from.first?.contains("swift:6.3") == true)
        #expect(from.last?.contains("debian:bookworm-slim") == true)
        for package in ["libjq1", "libsqlite3-0", "ca-certificates"] { #expect(text.contains(package)) }
        #expect(text.contains("USER 65532:65532"))
        #expect(text.contains("ENTRYPOINT [\"claiflow\"]"))
    }
}
