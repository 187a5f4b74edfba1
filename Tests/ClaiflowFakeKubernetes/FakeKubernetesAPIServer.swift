import ClaiflowCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// A small Kubernetes API server that answers like the real one for what the commands use:
/// the REST paths of namespaced and cluster-scoped resources, get, list (with equality and
/// inequality label selectors), create, merge and JSON patches applied to stored objects,
/// delete, `Status` bodies for errors, bearer-token authentication and RBAC refusals
/// (``forbid(_:_:)``); the `pods/exec` WebSocket (FakeKubernetesExec.swift); and a Deployment
/// controller that rolls Deployments out after a template change (FakeDeploymentController.swift).
/// ``run(_:)`` serves it on loopback.
public actor FakeKubernetesAPIServer {
    /// A resource the fake serves.
    public struct Resource: Sendable {
        public var name: String
        public var group: String
        public var version: String
        public var kind: String
        public var namespaced: Bool

        public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
        /// `pods`, or `deployments.apps` as in the real API server's messages.
        public var qualifiedName: String { group.isEmpty ? name : "\(name).\(group)" }
        /// Built-in types are listed without kind/apiVersion per item; custom resources keep them.
        var isCustom: Bool { group.hasSuffix("coreos.com") }
    }

    /// One request seen.
    public struct Seen: Sendable, Equatable {
        public var method: String
        public var path: String
        public var query: String?
        public var contentType: String?
    }

    struct Key: Hashable {
        var resource: String
        var group: String
        var namespace: String
        var name: String
    }

    /// The resources the fake knows, written independently of the module's table.
    public static let resources: [Resource] = {
        var all: [Resource] = []
        func add(_ gv: String, _ namespaced: Bool, _ pairs: [(String, String)]) {
            let parts = gv.split(separator: "/").map(String.init)
            let group = parts.count == 2 ? parts[0] : ""
            let version = parts.count == 2 ? parts[1] : parts[0]
            for (name, kind) in pairs {
                all.append(Resource(name: name, group: group, version: version, kind: kind, namespaced: namespaced))
            }
        }
        add(
            "v1", true,
            [
                ("configmaps", "ConfigMap"), ("endpoints", "Endpoints"), ("events", "Event"), ("limitranges", "LimitRange"),
                ("persistentvolumeclaims", "PersistentVolumeClaim"), ("pods", "Pod"), ("podtemplates", "PodTemplate"),
                ("replicationcontrollers", "ReplicationController"), ("resourcequotas", "ResourceQuota"),
                ("secrets", "Secret"), ("serviceaccounts", "ServiceAccount"), ("services", "Service"),
            ])
        add("v1", false, [("namespaces", "Namespace"), ("nodes", "Node"), ("persistentvolumes", "PersistentVolume")])
        add(
            "apps/v1", true,
            [
                ("controllerrevisions", "ControllerRevision"), ("daemonsets", "DaemonSet"), ("deployments", "Deployment"),
                ("replicasets", "ReplicaSet"), ("statefulsets", "StatefulSet"),
            ])
        add("networking.k8s.io/v1", false, [("ingressclasses", "IngressClass")])
        add("networking.k8s.io/v1", true, [("ingresses", "Ingress"), ("networkpolicies", "NetworkPolicy")])
        add(
            "storage.k8s.io/v1", false,
            [
                ("csidrivers", "CSIDriver"), ("csinodes", "CSINode"), ("storageclasses", "StorageClass"),
                ("volumeattachments", "VolumeAttachment"),
            ])
        add("storage.k8s.io/v1", true, [("csistoragecapacities", "CSIStorageCapacity")])
        add(
            "monitoring.coreos.com/v1", true,
            [
                ("alertmanagers", "Alertmanager"), ("podmonitors", "PodMonitor"), ("probes", "Probe"),
                ("prometheuses", "Prometheus"), ("prometheusrules", "PrometheusRule"),
                ("servicemonitors", "ServiceMonitor"), ("thanosrulers", "ThanosRuler"),
            ])
        add("monitoring.coreos.com/v1alpha1", true, [("alertmanagerconfigs", "AlertmanagerConfig")])
        add("batch/v1", true, [("cronjobs", "CronJob"), ("jobs", "Job")])
        add(
            "admissionregistration.k8s.io/v1", false,
            [
                ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration"),
                ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration"),
            ])
        add("apiextensions.k8s.io/v1", false, [("customresourcedefinitions", "CustomResourceDefinition")])
        add("apiregistration.k8s.io/v1", false, [("apiservices", "APIService")])
        add("autoscaling/v2", true, [("horizontalpodautoscalers", "HorizontalPodAutoscaler")])
        add("certificates.k8s.io/v1", false, [("certificatesigningrequests", "CertificateSigningRequest")])
        add("coordination.k8s.io/v1", true, [("leases", "Lease")])
        add("discovery.k8s.io/v1", true, [("endpointslices", "EndpointSlice")])
        add("node.k8s.io/v1", false, [("runtimeclasses", "RuntimeClass")])
        add("policy/v1", true, [("poddisruptionbudgets", "PodDisruptionBudget")])
        add(
            "rbac.authorization.k8s.io/v1", false,
            [("clusterrolebindings", "ClusterRoleBinding"), ("clusterroles", "ClusterRole")])
        add("rbac.authorization.k8s.io/v1", true, [("rolebindings", "RoleBinding"), ("roles", "Role")])
        add("scheduling.k8s.io/v1", false, [("priorityclasses", "PriorityClass")])
        return all
    }()

    /// The bearer token the fake accepts.
    public let token: String
    /// Whether a request without a token is authenticated by its TLS client certificate (the
    /// server's TLS layer then verified it; see ``run(tls:_:)``).
    private var certificateAuthentication = false
    var objects: [Key: JSONValue] = [:]
    private var revision = 1000
    private var uidCounter = 0
    /// Every request seen, upgrade requests included.
    public internal(set) var requests: [Seen] = []
    /// `"<verb> <resource>[/<subresource>]"` pairs RBAC refuses (``forbid(_:_:)``).
    private var forbidden: Set<String> = []
    /// The RBAC check of ``authorize(_:)``.
    private var authorizer: (@Sendable (Access) -> Bool)?
    /// The requests ``authorize(_:)``'s check refused.
    public private(set) var refusedAccesses: [Access] = []
    /// How Deployments roll out, by the image of their first container (FakeDeploymentController.swift).
    var rollouts: [String: Rollout] = [:]
    /// The exec sessions run so far (FakeKubernetesExec.swift).
    public internal(set) var execSessions: [ExecSession] = []
    /// The exec channel protocols spoken, in order of preference (FakeKubernetesExec.swift).
    var execSubprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    /// Creates a fake that accepts `Authorization: Bearer <token>`.
    public init(token: String) {
        self.token = token
    }

    /// The resource the fake serves at `group`/`version` under `name`.
    public static func resource(group: String, version: String, name: String) -> Resource? {
        resources.first { $0.group == group && $0.version == version && $0.name == name }
    }

    // MARK: - Seeding and inspection

    /// Stores an object as if it had been created; returns it as stored.
    @discardableResult
    public func seed(_ resource: Resource, namespace: String?, _ object: JSONValue) throws -> JSONValue {
        guard case .object(var members) = object, case .object(var metadata)? = object.field("metadata"),
            case .string(let name)? = metadata["name"]
        else { throw FakeKubernetesError("seed needs metadata.name") }
        let ns = resource.namespaced ? (namespace ?? "default") : ""
        if resource.namespaced { metadata["namespace"] = .string(ns) }
        metadata["uid"] = .string(nextUID())
        metadata["resourceVersion"] = .string(nextRevision())
        metadata["creationTimestamp"] = .string("2026-01-01T00:00:00Z")
        if resource.name == "deployments" { metadata["generation"] = .integer(1) }
        members["metadata"] = .object(metadata)
        members["kind"] = .string(resource.kind)
        members["apiVersion"] = .string(resource.groupVersion)
        let stored = JSONValue.object(members)
        objects[Key(resource: resource.name, group: resource.group, namespace: ns, name: name)] = stored
        return stored
    }

    /// A stored object, if any.
    public func object(_ resource: Resource, namespace: String?, name: String) -> JSONValue? {
        objects[
            Key(resource: resource.name, group: resource.group, namespace: resource.namespaced ? namespace ?? "" : "", name: name)
        ]
    }

    /// Forgets the requests seen so far.
    public func clearRequests() { requests = [] }

    /// A valid bearer token, or none on a connection authenticated by a client certificate.
    func isAuthenticated(_ headers: [String: String]) -> Bool {
        headers["authorization"] == "Bearer \(token)" || (certificateAuthentication && headers["authorization"] == nil)
    }

    private func authenticateByCertificate(_ enabled: Bool) { certificateAuthentication = enabled }

    /// Makes RBAC refuse `verb` on `resource` (`"pods/exec"`, `"deployments"`) with a 403 `Forbidden` Status.
    public func forbid(_ verb: String, _ resource: String) { forbidden.insert("\(verb) \(resource)") }

    /// What RBAC is asked about one request.
    public struct Access: Sendable, Equatable {
        /// `get`, `list`, `create`, `patch`, `delete`.
        public var verb: String
        /// The API group, empty for the core group.
        public var group: String
        /// The resource, with its subresource as `pods/exec`.
        public var resource: String
        /// The namespace, nil for cluster-scoped objects and lists across namespaces.
        public var namespace: String?
        /// The object's name, nil for lists and creations.
        public var name: String?
    }

    /// Makes RBAC refuse every request `allows` does not allow (nil: back to allowing all but
    /// ``forbid(_:_:)``'s pairs); each refused request is kept in ``refusedAccesses``.
    public func authorize(_ allows: (@Sendable (Access) -> Bool)?) {
        authorizer = allows
        refusedAccesses = []
    }

    /// The 403 the real API server answers when RBAC refuses a request.
    func refusal(
        _ verb: String, _ resource: Resource, subresource: String?, name: String?, namespace: String?
    ) -> (Int, String, JSONValue?)? {
        let full = subresource.map { "\(resource.name)/\($0)" } ?? resource.name
        let access = Access(verb: verb, group: resource.group, resource: full, namespace: namespace, name: name)
        let refusedByAuthorizer = authorizer.map { !$0(access) } ?? false
        if refusedByAuthorizer { refusedAccesses.append(access) }
        guard forbidden.contains("\(verb) \(full)") || refusedByAuthorizer else { return nil }
        var message = name.map { "\(resource.qualifiedName) \"\($0)\" is forbidden" } ?? "\(resource.qualifiedName) is forbidden"
        message +=
            ": User \"system:serviceaccount:claiflow:agent\" cannot \(verb) resource \"\(full)\" in API group \"\(resource.group)\""
        if let namespace { message += " in the namespace \"\(namespace)\"" }
        var details: [String: JSONValue] = ["kind": .string(full)]
        if let name { details["name"] = .string(name) }
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        return (403, "", Self.status(403, message, "Forbidden", details: .object(details)))
    }

    func nextRevision() -> String {
        revision += 1
        return String(revision)
    }

    func nextUID() -> String {
        uidCounter += 1
        return String(format: "00000000-0000-4000-8000-%012d", uidCounter)
    }

    // MARK: - Serving

    /// Answers one request.
    func handle(
        method: String, path: String, query: String?, headers: [String: String], body: [UInt8]
    ) -> (Int, String, JSONValue?) {
        requests.append(Seen(method: method, path: path, query: query, contentType: headers["content-type"]))
        guard isAuthenticated(headers) else {
            return (401, "", Self.status(401, "Unauthorized", "Unauthorized"))
        }
        if let exec = execTarget(path) {
            // A plain request, or an upgrade the WebSocket side refused: answer why.
            return execRefusal(exec, query: query, headers: headers) ?? (
                400, "", Self.status(400, "Upgrade request required", "BadRequest")
            )
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let group: String
        let version: String
        let rest: [String]
        if parts.count >= 2, parts[0] == "api" {
            (group, version, rest) = ("", parts[1], Array(parts.dropFirst(2)))
        } else if parts.count >= 3, parts[0] == "apis" {
            (group, version, rest) = (parts[1], parts[2], Array(parts.dropFirst(3)))
        } else {
            return (404, "404 page not found\n", nil)
        }

        var namespace: String?
        var resourceName: String
        var name: String?
        var subresource: String?
        switch rest.count {
        case 1: resourceName = rest[0]
        case 2: (resourceName, name) = (rest[0], rest[1])
        case 3 where rest[0] == "namespaces": (namespace, resourceName) = (rest[1], rest[2])
        case 4 where rest[0] == "namespaces": (namespace, resourceName, name) = (rest[1], rest[2], rest[3])
        case 5 where rest[0] == "namespaces":
            (namespace, resourceName, name, subresource) = (rest[1], rest[2], rest[3], rest[4])
        default: return (404, "", Self.notFoundResource())
        }
        guard let resource = Self.resource(group: group, version: version, name: resourceName),
            resource.namespaced == (namespace != nil) || (resource.namespaced && name == nil)
        else {
            return (404, "", Self.notFoundResource())
        }
        if subresource != nil {
            return (404, "", Self.notFoundResource())
        }
        let verb: String
        switch (method, name) {
        case ("GET", nil): verb = "list"
        case ("GET", _): verb = "get"
        case ("POST", _): verb = "create"
        case ("PATCH", _): verb = "patch"
        case ("DELETE", _): verb = "delete"
        default: verb = method.lowercased()
        }
        if let refusal = refusal(verb, resource, subresource: nil, name: name, namespace: namespace) { return refusal }

        switch (method, name) {
        case ("GET", nil):
            return list(resource, namespace: namespace, query: query)
        case ("POST", nil):
            guard let namespace = resource.namespaced ? namespace : "" else {
                return (
                    405, "",
                    Self.status(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
                )
            }
            return create(resource, namespace: namespace, body: body)
        case ("GET", let name?):
            if resource.name == "deployments" { controlDeployment(namespace: namespace ?? "", name: name) }
            guard let object = objects[key(resource, namespace, name)] else { return notFound(resource, name) }
            return (200, "", object)
        case ("PATCH", let name?):
            return patch(resource, namespace: namespace, name: name, contentType: headers["content-type"] ?? "", body: body)
        case ("DELETE", let name?):
            guard let object = objects.removeValue(forKey: key(resource, namespace, name)) else {
                return notFound(resource, name)
            }
            var details: [String: JSONValue] = ["name": .string(name), "kind": .string(resource.name)]
            if !resource.group.isEmpty { details["group"] = .string(resource.group) }
            if let uid = object.field("metadata")?.field("uid") { details["uid"] = uid }
            return (
                200, "",
                .object([
                    "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
                    "status": .string("Success"), "details": .object(details),
                ])
            )
        default:
            return (
                405, "", Self.status(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
            )
        }
    }

    func key(_ resource: Resource, _ namespace: String?, _ name: String) -> Key {
        Key(resource: resource.name, group: resource.group, namespace: resource.namespaced ? namespace ?? "" : "", name: name)
    }

    private func list(_ resource: Resource, namespace: String?, query: String?) -> (Int, String, JSONValue?) {
        var requirements: [(String, String, Bool)] = []  // key, value, equal
        for pair in (query ?? "").split(separator: "&") {
            let items = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            guard items.count == 2, items[0] == "labelSelector" else { continue }
            for requirement in items[1].split(separator: ",") {
                let text = String(requirement)
                if let range = text.range(of: "!=") {
                    requirements.append((String(text[..<range.lowerBound]), String(text[range.upperBound...]), false))
                } else if let range = text.range(of: "==") ?? text.range(of: "=") {
                    requirements.append((String(text[..<range.lowerBound]), String(text[range.upperBound...]), true))
                } else {
                    return (400, "", Self.status(400, "unable to parse requirement: \(text)", "BadRequest"))
                }
            }
        }
        let items = objects.filter { key, object in
            guard key.resource == resource.name, key.group == resource.group else { return false }
            if let namespace, key.namespace != namespace { return false }
            for (label, value, equal) in requirements {
                let actual: String?
                if case .string(let text)? = object.field("metadata")?.field("labels")?.field(label) {
                    actual = text
                } else {
                    actual = nil
                }
                if equal ? actual != value : actual == value { return false }
            }
            return true
        }
        .sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
        .map { _, object -> JSONValue in
            guard !resource.isCustom, case .object(var members) = object else { return object }
            members["kind"] = nil
            members["apiVersion"] = nil
            return .object(members)
        }
        return (
            200, "",
            .object([
                "kind": .string("\(resource.kind)List"), "apiVersion": .string(resource.groupVersion),
                "metadata": .object(["resourceVersion": .string(String(revision))]), "items": .array(items),
            ])
        )
    }

    private func create(_ resource: Resource, namespace: String, body: [UInt8]) -> (Int, String, JSONValue?) {
        guard let object = try? JSONValue.parse(body), case .object(var members) = object,
            case .object(var metadata)? = object.field("metadata"), case .string(let name)? = metadata["name"], !name.isEmpty
        else {
            return (400, "", Self.status(400, "the body of the request was in an unknown format", "BadRequest"))
        }
        if resource.namespaced {
            if case .string(let given)? = metadata["namespace"], given != namespace {
                return (
                    400, "",
                    Self.status(
                        400, "the namespace of the provided object does not match the namespace sent on the request", "BadRequest"
                    )
                )
            }
            metadata["namespace"] = .string(namespace)
        }
        let key = key(resource, namespace, name)
        if objects[key] != nil {
            return (
                409, "",
                Self.status(
                    409, "\(resource.qualifiedName) \"\(name)\" already exists", "AlreadyExists", details: details(resource, name)
                )
            )
        }
        metadata["uid"] = .string(nextUID())
        metadata["resourceVersion"] = .string(nextRevision())
        metadata["creationTimestamp"] = .string("2026-01-01T00:00:00Z")
        members["metadata"] = .object(metadata)
        members["kind"] = .string(resource.kind)
        members["apiVersion"] = .string(resource.groupVersion)
        objects[key] = .object(members)
        return (201, "", .object(members))
    }

    private func patch(
        _ resource: Resource, namespace: String?, name: String, contentType: String, body: [UInt8]
    )
        -> (Int, String, JSONValue?)
    {
        let key = key(resource, namespace, name)
        guard let current = objects[key] else { return notFound(resource, name) }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let patch = try? JSONValue.parse(body) else {
            return (400, "", Self.status(400, "error decoding patch: invalid JSON", "BadRequest"))
        }
        var patched: JSONValue
        switch mediaType {
        case "application/merge-patch+json":
            guard case .object = patch else {
                return (400, "", Self.status(400, "error decoding patch: a merge patch must be an object", "BadRequest"))
            }
            if let wanted = patch.field("metadata")?.field("resourceVersion"),
                wanted != current.field("metadata")?.field("resourceVersion")
            {
                return (
                    409, "",
                    Self.status(
                        409,
                        "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                        "Conflict", details: details(resource, name))
                )
            }
            patched = Self.mergePatch(current, patch)
        case "application/json-patch+json":
            guard case .array(let operations) = patch else {
                return (400, "", Self.status(400, "error decoding patch: a JSON patch must be an array", "BadRequest"))
            }
            do {
                patched = try JSONPatch.apply(operations, to: current)
            } catch {
                return (
                    422, "",
                    Self.status(
                        422, "the server rejected our request due to an error in our request", "Invalid",
                        details: details(resource, name))
                )
            }
        default:
            return (
                415, "",
                Self.status(
                    415,
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    "UnsupportedMediaType")
            )
        }
        // Identity fields stay; the revision moves on.
        guard case .object(var members) = patched else {
            return (422, "", Self.status(422, "the patched object is not an object", "Invalid"))
        }
        var metadata: [String: JSONValue] = [:]
        if case .object(let m)? = members["metadata"] { metadata = m }
        if case .object(let old)? = current.field("metadata") {
            for field in ["name", "namespace", "uid", "creationTimestamp"] { metadata[field] = old[field] }
        }
        metadata["resourceVersion"] = .string(nextRevision())
        if resource.name == "deployments" {
            // A change of the spec is a new generation, which the controller then observes.
            var generation: Int64 = 1
            if case .integer(let current)? = current.field("metadata")?.field("generation") { generation = current }
            if members["spec"] != current.field("spec") { generation += 1 }
            metadata["generation"] = .integer(generation)
        }
        members["metadata"] = .object(metadata)
        members["kind"] = .string(resource.kind)
        members["apiVersion"] = .string(resource.groupVersion)
        objects[key] = .object(members)
        return (200, "", .object(members))
    }

    func notFound(_ resource: Resource, _ name: String) -> (Int, String, JSONValue?) {
        (
            404, "",
            Self.status(404, "\(resource.qualifiedName) \"\(name)\" not found", "NotFound", details: details(resource, name))
        )
    }

    private func details(_ resource: Resource, _ name: String) -> JSONValue {
        var details: [String: JSONValue] = ["name": .string(name), "kind": .string(resource.name)]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        return .object(details)
    }

    static func notFoundResource() -> JSONValue {
        status(404, "the server could not find the requested resource", "NotFound", details: .object([:]))
    }

    /// A failure `Status` as the real API server writes it.
    public static func status(_ code: Int, _ message: String, _ reason: String, details: JSONValue? = nil) -> JSONValue {
        var members: [String: JSONValue] = [
            "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
            "status": .string("Failure"), "message": .string(message), "reason": .string(reason),
            "code": .integer(Int64(code)),
        ]
        if let details { members["details"] = details }
        return .object(members)
    }

    /// RFC 7386.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: [String: JSONValue] = [:]
        if case .object(let members) = target { result = members }
        for (key, value) in patchMembers {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: - HTTP

    /// The HTTP side of the fake (everything but upgrade requests).
    nonisolated func respond(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let (status, text, value) = await handle(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers,
            body: Array(body.readableBytesView))
        var fields = HTTPFields()
        fields[.contentType] = value == nil ? "text/plain; charset=utf-8" : "application/json"
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: .init(byteBuffer: ByteBuffer(string: value?.serialized() ?? text)))
    }

    /// Serves the fake on 127.0.0.1 (an ephemeral port) while `body` runs; `body` gets the port.
    ///
    /// - Parameter tls: Serves HTTPS with this configuration; when it verifies client
    ///   certificates, a request without a bearer token is authenticated by its certificate.
    public nonisolated func run<T: Sendable>(
        tls: TLSConfiguration? = nil, _ body: @Sendable (Int) async throws -> T
    ) async throws
        -> T
    {
        var server = HTTPServerBuilder { responder in FakeAPIServerChannel(responder: responder, fake: self) }
        if let tls {
            server = try .tls(server, tlsConfiguration: tls)
            await authenticateByCertificate(tls.certificateVerification != .none)
        }
        return try await withLoopbackServer(server: server, { request in try await self.respond(request) }, body)
    }
}

/// A failure of a fake's setup.
public struct FakeKubernetesError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// RFC 6902 for the fake API server.
enum JSONPatch {
    struct Failure: Error {}

    static func apply(_ operations: [JSONValue], to document: JSONValue) throws -> JSONValue {
        var document = document
        for operation in operations {
            guard case .string(let op)? = operation.field("op"), case .string(let path)? = operation.field("path") else {
                throw Failure()
            }
            let tokens = try pointer(path)
            switch op {
            case "add":
                guard case .object(let members) = operation, let value = members["value"] else { throw Failure() }
                document = try add(document, tokens[...], value)
            case "remove":
                document = try remove(document, tokens[...])
            case "replace":
                guard case .object(let members) = operation, let value = members["value"] else { throw Failure() }
                _ = try get(document, tokens[...])
                document = try remove(document, tokens[...])
                document = try add(document, tokens[...], value)
            case "test":
                guard case .object(let members) = operation, let value = members["value"] else { throw Failure() }
                guard try get(document, tokens[...]) == value else { throw Failure() }
            case "move", "copy":
                guard case .string(let from)? = operation.field("from") else { throw Failure() }
                let source = try pointer(from)
                let value = try get(document, source[...])
                if op == "move" { document = try remove(document, source[...]) }
                document = try add(document, tokens[...], value)
            default:
                throw Failure()
            }
        }
        return document
    }

    static func pointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw Failure() }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ value: JSONValue, _ tokens: ArraySlice<String>) throws -> JSONValue {
        guard let first = tokens.first else { return value }
        switch value {
        case .object(let members):
            guard let child = members[first] else { throw Failure() }
            return try get(child, tokens.dropFirst())
        case .array(let items):
            guard let index = Int(first), items.indices.contains(index) else { throw Failure() }
            return try get(items[index], tokens.dropFirst())
        default: throw Failure()
        }
    }

    static func add(_ value: JSONValue, _ tokens: ArraySlice<String>, _ newValue: JSONValue) throws -> JSONValue {
        guard let first = tokens.first else { return newValue }
        let rest = tokens.dropFirst()
        switch value {
        case .object(var members):
            if rest.isEmpty {
                members[first] = newValue
            } else {
                guard let child = members[first] else { throw Failure() }
                members[first] = try add(child, rest, newValue)
            }
            return .object(members)
        case .array(var items):
            if rest.isEmpty {
                if first == "-" {
                    items.append(newValue)
                } else {
                    guard let index = Int(first), index >= 0, index <= items.count else { throw Failure() }
                    items.insert(newValue, at: index)
                }
            } else {
                guard let index = Int(first), items.indices.contains(index) else { throw Failure() }
                items[index] = try add(items[index], rest, newValue)
            }
            return .array(items)
        default: throw Failure()
        }
    }

    static func remove(_ value: JSONValue, _ tokens: ArraySlice<String>) throws -> JSONValue {
        guard let first = tokens.first else { throw Failure() }
        let rest = tokens.dropFirst()
        switch value {
        case .object(var members):
            guard let child = members[first] else { throw Failure() }
            members[first] = rest.isEmpty ? nil : try remove(child, rest)
            return .object(members)
        case .array(var items):
            guard let index = Int(first), items.indices.contains(index) else { throw Failure() }
            if rest.isEmpty { items.remove(at: index) } else { items[index] = try remove(items[index], rest) }
            return .array(items)
        default: throw Failure()
        }
    }
}
