import ClaiflowCore
import ClaiflowStore
import Foundation
import Testing

@testable import ClaiflowFlow

/// The 235 default templates as the product ships them (the ClaiflowStore resource).
@Suite("Default templates")
struct DefaultTemplateTests {
    private struct Template {
        var uuid: String
        var name: String
        var command: String
        var flow: Flow
    }

    private func loadTemplates() throws -> [Template] {
        guard case .array(let rows) = try DefaultTemplates.shippedJSON() else {
            Issue.record("templates file is not an array")
            return []
        }
        var templates: [Template] = []
        for row in rows {
            guard case .string(let uuid)? = row.field("uuid"), case .string(let name)? = row.field("name"),
                case .string(let command)? = row.field("command"), let flowValue = row.field("flow")
            else {
                Issue.record("malformed template row: \(row.serialized().prefix(200))")
                continue
            }
            // The flow is stored either as JSON or as a JSON string (the database column).
            let flow: Flow
            do {
                if case .string(let text) = flowValue {
                    flow = try Flow.parse(text)
                } else {
                    flow = try Flow.parse(flowValue)
                }
            } catch {
                Issue.record("template \(name) (\(uuid)): \(error.message)")
                continue
            }
            templates.append(Template(uuid: uuid, name: name, command: command, flow: flow))
        }
        return templates
    }

    @Test
    func allDefaultTemplatesParseAndValidate() throws {
        let templates = try loadTemplates()
        #expect(templates.count == 235)
        var names = Set<String>()
        for template in templates {
            #expect(template.flow.stepMax == 1, "\(template.name)")
            #expect(template.flow.commandNames == [template.command], "\(template.name)")
            names.formUnion(template.flow.commandNames)
        }
        let kubernetes = names.filter { $0.hasPrefix("kubernetes.") }
        let prometheus = names.filter { $0.hasPrefix("prometheus.") }
        let helm = names.filter { $0.hasPrefix("helm.") }
        let claiflow = names.filter { $0.hasPrefix("claiflow.") }
        #expect(names.count == 235)
        #expect(kubernetes.count == 213)
        #expect(prometheus.count == 7)
        #expect(helm.count == 9)
        #expect(claiflow.count == 6)
        #expect(
            names.isSuperset(of: [
                "kubernetes.pods.get.v1", "kubernetes.pods.exec.v1", "helm.install", "prometheus.query.v1",
                "prometheus.targets/metadata.v1", "claiflow.credential.add", "claiflow.client.upgrade",
            ]))
        // What the server shows: the command names the templates need.
        print(
            "default templates: \(templates.count) flows, \(names.count) commands "
                + "(kubernetes \(kubernetes.count), prometheus \(prometheus.count), helm \(helm.count), claiflow \(claiflow.count))"
        )
    }

    @Test
    func aDefaultTemplateRunsWithTheWholeInputsObject() async throws {
        let template = try #require(try loadTemplates().first { $0.name == "kubernetes_pods_get" })
        let log = CallLog()
        let pod: JSONValue = .object(["metadata": .object(["name": .string("web-0")])])
        let engine = FlowEngine(commands: [
            template.command: { call in
                log.append(call)
                return pod
            }
        ])
        let inputs = try json(#"{"namespace":"default","name":"web-0"}"#)
        let outcome = await engine.run(template.flow, inputs: inputs)
        #expect(outcome.status == .succeeded)
        #expect(log.all.first?.inputs == inputs)
        #expect(outcome.result == #"{"metadata":{"name":"web-0"}}"#)
    }
}
