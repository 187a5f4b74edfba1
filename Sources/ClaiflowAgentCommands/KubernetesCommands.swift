import ClaiflowCore
import ClaiflowFlow

/// The `kubernetes.<resource>.<verb>.<groupVersion>` commands, generic over ``KubernetesResource/all``.
enum KubernetesCommands {
    /// The verbs every resource has.
    static let verbs = ["get", "list", "patch", "delete"]

    /// The exec command's name.
    static let execCommand = "kubernetes.pods.exec.v1"

    static func register(into catalog: inout CommandCatalog, client: KubernetesClient?) {
        for resource in KubernetesResource.all {
            for verb in verbs {
                catalog.register(resource.commandName(verb)) { call in
                    guard let client else {
                        throw FlowCommandError("no Kubernetes access configured: \(call.command) cannot run")
                    }
                    let inputs = try CommandInputs(call)
                    switch verb {
                    case "get": return try await get(resource, inputs, client)
                    case "list": return try await list(resource, inputs, client)
                    case "patch": return try await patch(resource, inputs, client)
                    default: return try await delete(resource, inputs, client)
                    }
                }
            }
        }
        catalog.register(execCommand) { call in
            guard let client else {
                throw FlowCommandError("no Kubernetes access configured: \(call.command) cannot run")
            }
            return try await KubernetesExec.run(try CommandInputs(call), client)
        }
    }

    /// The namespace a call addresses: nil for cluster-scoped resources; required for namespaced ones.
    static func namespace(of resource: KubernetesResource, _ inputs: CommandInputs) throws -> String? {
        guard resource.isNamespaced else { return nil }
        guard let namespace = try inputs.nonEmptyString("namespace") else {
            throw FlowCommandError("\"namespace\" is required: \(resource.name) are namespaced")
        }
        return namespace
    }

    static func get(
        _ resource: KubernetesResource, _ inputs: CommandInputs, _ client: KubernetesClient
    ) async throws
        -> JSONValue
    {
        let name = try inputs.requiredString("name")
        let path = resource.objectPath(name: name, namespace: try namespace(of: resource, inputs))
        return try await client.send("GET", path)
    }

    static func list(
        _ resource: KubernetesResource, _ inputs: CommandInputs, _ client: KubernetesClient
    ) async throws
        -> JSONValue
    {
        let namespace = resource.isNamespaced ? try inputs.nonEmptyString("namespace") : nil
        var query: [(String, String)] = []
        if let labels = try inputs.object("labels"), !labels.isEmpty {
            query.append(("labelSelector", try labelSelector(labels)))
        }
        return try await client.send("GET", resource.collectionPath(namespace: namespace), query: query)
    }

    /// `k1=v1,k2=v2`, sorted by key; values are stringified scalars.
    static func labelSelector(_ labels: [String: JSONValue]) throws -> String {
        try labels.keys.sorted().map { key in
            guard let value = labels[key], let text = value == .null ? "" : value.scalarText else {
                throw FlowCommandError("\"labels\": the value of \(CommandInputs.quote(key)) must be a string")
            }
            return "\(key)=\(text)"
        }.joined(separator: ",")
    }

    static func patch(
        _ resource: KubernetesResource, _ inputs: CommandInputs, _ client: KubernetesClient
    ) async throws
        -> JSONValue
    {
        let name = try inputs.requiredString("name")
        let contentType: String
        switch try inputs.requiredString("patch_type") {
        case "json": contentType = "application/json-patch+json"
        case "merge": contentType = "application/merge-patch+json"
        case let other:
            throw FlowCommandError("\"patch_type\" must be \"json\" or \"merge\", got \(CommandInputs.quote(other))")
        }
        guard let data = inputs.value("patch_data") else {
            throw FlowCommandError("\"patch_data\" is required")
        }
        let path = resource.objectPath(name: name, namespace: try namespace(of: resource, inputs))
        return try await client.send("PATCH", path, body: data, contentType: contentType)
    }

    static func delete(
        _ resource: KubernetesResource, _ inputs: CommandInputs, _ client: KubernetesClient
    ) async throws
        -> JSONValue
    {
        let name = try inputs.requiredString("name")
        let path = resource.objectPath(name: name, namespace: try namespace(of: resource, inputs))
        return try await client.send("DELETE", path)
    }
}
