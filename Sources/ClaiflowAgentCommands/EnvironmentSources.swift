import ClaiflowCore
import ClaiflowFlow
import Foundation

/// The ConfigMaps and Secrets behind container 0's environment: reads them, plans the changes
/// of `env_configs`, writes them and restores them.
actor EnvironmentSources {
    /// One ConfigMap or Secret.
    struct Object: Hashable, Sendable, Comparable {
        var resource: String  // "configmaps" or "secrets"
        var name: String
        var isSecret: Bool { resource == "secrets" }
        var description: String { "\(isSecret ? "Secret" : "ConfigMap") \(name)" }
        static func < (a: Object, b: Object) -> Bool { (a.resource, a.name) < (b.resource, b.name) }
    }

    let client: KubernetesClient
    let namespace: String
    /// The objects read so far (nil: they do not exist).
    private var data: [Object: [String: JSONValue]?] = [:]
    /// New values (already base64 for Secrets), by object and key.
    private var changes: [Object: [String: String]] = [:]
    /// The objects written, with each changed key's previous value (nil: it was absent).
    private var written: [(Object, [String: JSONValue?])] = []

    init(client: KubernetesClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    var changedObjectNames: [String] { changes.keys.sorted().map(\.description) }

    private func path(_ object: Object) -> String {
        KubernetesResource(name: object.resource, group: "", version: "v1", isNamespaced: true).objectPath(
            name: object.name, namespace: namespace)
    }

    /// The object's data, read once; nil when it does not exist.
    private func contents(_ object: Object) async throws -> [String: JSONValue]? {
        if let known = data[object] { return known }
        let found: [String: JSONValue]?
        do {
            found = try await client.send("GET", path(object))[path: ["data"]]?.objectValue ?? [:]
        } catch let error as KubernetesAPIError where error.status == 404 {
            found = nil
        }
        data[object] = found
        return found
    }

    private func change(_ object: Object, key: String, to value: String) {
        changes[object, default: [:]][key] = object.isSecret ? Data(value.utf8).base64EncodedString() : value
    }

    private static func reference(_ source: JSONValue?) -> (Object, key: String)? {
        if let reference = source?[path: ["configMapKeyRef"]], let name = reference[path: ["name"]]?.stringValue,
            let key = reference[path: ["key"]]?.stringValue
        {
            return (Object(resource: "configmaps", name: name), key)
        }
        if let reference = source?[path: ["secretKeyRef"]], let name = reference[path: ["name"]]?.stringValue,
            let key = reference[path: ["key"]]?.stringValue
        {
            return (Object(resource: "secrets", name: name), key)
        }
        return nil
    }

    /// Plans `environment` for container 0 of `template`: literal entries change in the template,
    /// the others in their ConfigMap or Secret (see ``KubernetesAgentUpgrader``).
    func apply(_ environment: [String: String], to template: JSONValue) async throws -> JSONValue {
        guard !environment.isEmpty else { return template }
        var template = template
        let containerPath = ["spec", "containers", "0"]
        var env = template[path: containerPath + ["env"]]?.arrayValue ?? []
        let envFrom = (template[path: containerPath + ["envFrom"]]?.arrayValue ?? []).compactMap { source -> (Object, String)? in
            let prefix = source[path: ["prefix"]]?.stringValue ?? ""
            if let name = source[path: ["secretRef", "name"]]?.stringValue {
                return (Object(resource: "secrets", name: name), prefix)
            }
            if let name = source[path: ["configMapRef", "name"]]?.stringValue {
                return (Object(resource: "configmaps", name: name), prefix)
            }
            return nil
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            if let index = env.firstIndex(where: { $0[path: ["name"]] == .string(name) }) {
                let source = env[index][path: ["valueFrom"]]
                if let (object, key) = Self.reference(source) {
                    change(object, key: key, to: value)
                } else if source != nil {
                    throw FlowCommandError(
                        "\"env_configs\": \(CommandInputs.quote(name)) comes from the pod's own fields: it cannot be set")
                } else {
                    env[index] = .object(["name": .string(name), "value": .string(value)])
                }
                continue
            }
            // Defined through envFrom? Later sources win, as in the kubelet.
            var defined = false
            for (object, prefix) in envFrom.reversed() where name.hasPrefix(prefix) {
                let key = String(name.dropFirst(prefix.count))
                if let contents = try await contents(object), contents[key] != nil {
                    change(object, key: key, to: value)
                    defined = true
                    break
                }
            }
            if defined { continue }
            // A new variable, in the preferred place.
            var placed = false
            for wanted in ["secrets", "configmaps"] {
                for (object, prefix) in envFrom where object.resource == wanted && name.hasPrefix(prefix) {
                    if try await contents(object) != nil {
                        change(object, key: String(name.dropFirst(prefix.count)), to: value)
                        placed = true
                        break
                    }
                }
                if placed { break }
            }
            if !placed {
                let referenced = env.compactMap { Self.reference($0[path: ["valueFrom"]])?.0 }
                for wanted in ["secrets", "configmaps"] {
                    guard let object = referenced.first(where: { $0.resource == wanted }), try await contents(object) != nil
                    else {
                        continue
                    }
                    change(object, key: name, to: value)
                    let keyReference = wanted == "secrets" ? "secretKeyRef" : "configMapKeyRef"
                    env.append(
                        .object([
                            "name": .string(name),
                            "valueFrom": .object([keyReference: .object(["name": .string(object.name), "key": .string(name)])]),
                        ]))
                    placed = true
                    break
                }
            }
            if !placed { env.append(.object(["name": .string(name), "value": .string(value)])) }
        }
        template[path: containerPath + ["env"]] = .array(env)
        return template
    }

    /// Merge-patches the planned changes, remembering the previous values; on a failure the
    /// objects already written are restored and the error is thrown.
    func write() async throws {
        for object in changes.keys.sorted() {
            let values = changes[object] ?? [:]
            let previous = try await contents(object) ?? [:]
            do {
                _ = try await client.send(
                    "PATCH", path(object), body: .object(["data": .object(values.mapValues { .string($0) })]),
                    contentType: "application/merge-patch+json")
            } catch {
                let restored = await restore()
                throw FlowCommandError(
                    "cannot change \(object.description): \(KubernetesAgentUpgrader.describe(error))\(restored)")
            }
            written.append((object, Dictionary(uniqueKeysWithValues: values.keys.map { ($0, previous[$0]) })))
        }
    }

    /// Puts the previous values back; returns what it did, for an error message (empty when
    /// nothing was written).
    func restore() async -> String {
        guard !written.isEmpty else { return "" }
        var failures: [String] = []
        for (object, previous) in written.reversed() {
            do {
                _ = try await client.send(
                    "PATCH", path(object), body: .object(["data": .object(previous.mapValues { $0 ?? .null })]),
                    contentType: "application/merge-patch+json")
            } catch {
                failures.append("\(object.description): \(KubernetesAgentUpgrader.describe(error))")
            }
        }
        if failures.isEmpty { return "; the ConfigMap and Secret changes were undone" }
        return "; undoing the ConfigMap and Secret changes failed (\(failures.joined(separator: "; ")))"
    }
}
