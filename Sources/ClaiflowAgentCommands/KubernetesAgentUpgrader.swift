import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Foundation
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The work of `claiflow.client.upgrade` for an agent run by a Kubernetes Deployment: rolls the
/// agent's own Deployment to a new image tag, optionally changing environment variables first,
/// and undoes everything when the rollout fails. The agent runtime calls it once the other
/// services are done (see `AgentRuntime`).
///
/// Steps (`docs/agent.md` has the details):
/// 1. Find itself: the namespace from the service account's `namespace` file (else the access's
///    namespace), the pod by name (``podName``, else `POD_NAME`, else `HOSTNAME`, else the host
///    name), its controlling ReplicaSet, that one's Deployment.
/// 2. `env_configs` for container 0 of the pod template: a variable taken from a ConfigMap or a
///    Secret (`valueFrom` or `envFrom`) is changed in that object; a literal one in the template;
///    a new one goes to the first Secret used through `envFrom`, else the first ConfigMap used
///    through `envFrom`, else the first Secret, else the first ConfigMap used through `valueFrom`
///    (with a new `valueFrom` entry), else a literal entry.
/// 3. The new image: container 0's image with its tag (and digest) replaced by `image_tag`
///    (`registry:5000/agent` → `registry:5000/agent:<tag>`, `agent@sha256:…` → `agent:<tag>`; a
///    `sha256:…` tag gives a digest reference); the template annotation ``restartedAtAnnotation``
///    is set to now.
/// 4. The ConfigMaps and Secrets are merge-patched, then the Deployment is JSON-patched
///    (`replace /spec/template`), without letting a cancellation interrupt these writes;
///    `changed(true)` is called.
/// 5. The rollout is polled until the new ReplicaSet's pods are all available (or the whole
///    rollout is complete): this pod is then being replaced. `ProgressDeadlineExceeded`, the
///    Deployment's deletion, a refused call or the timeout fail the upgrade: `changed(false)` is
///    called, the previous template and the old ConfigMap/Secret values are restored and the
///    error is thrown. A cancellation stops the wait and restores nothing once the Deployment is
///    patched (Kubernetes carries on).
public struct KubernetesAgentUpgrader: Sendable {
    /// The pod-template annotation set to the upgrade's time, which also names the new ReplicaSet.
    public static let restartedAtAnnotation = "claiflow/restartedAt"
    /// How long the rollout may take when the inputs have no `timeout`.
    public static let defaultTimeout: Duration = .seconds(600)
    /// The default location of the agent's namespace file.
    public static let defaultNamespaceFile = KubernetesAccess.serviceAccountDirectory + "/namespace"

    let client: KubernetesClient
    let podName: String?
    let namespaceFile: String
    let pollInterval: Duration
    let environment: [String: String]
    let logger: Logger

    /// Creates an upgrader.
    ///
    /// - Parameters:
    ///   - access: The Kubernetes API access (the agent's own).
    ///   - httpClient: The HTTP client for the API calls.
    ///   - logger: Logs the upgrade's progress.
    ///   - podName: The agent's pod; nil: `POD_NAME`, else `HOSTNAME`, else the host name.
    ///   - namespaceFile: The file holding the agent's namespace; when it cannot be read, the
    ///     access's namespace is used.
    ///   - pollInterval: How often the rollout is checked.
    ///   - environment: Where `POD_NAME` and `HOSTNAME` are read.
    /// - Throws: ``KubernetesConfigurationError`` for unusable TLS material or URL.
    public init(
        access: KubernetesAccess, httpClient: HTTPClient, logger: Logger = Logger(label: "claiflow.upgrade"),
        podName: String? = nil, namespaceFile: String = KubernetesAgentUpgrader.defaultNamespaceFile,
        pollInterval: Duration = .seconds(1), environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        client = try KubernetesClient(access: access, httpClient: httpClient, logger: logger)
        self.podName = podName
        self.namespaceFile = namespaceFile
        self.pollInterval = pollInterval
        self.environment = environment
        self.logger = logger
    }

    /// The checked inputs of an upgrade step.
    public struct Request: Sendable, Equatable {
        /// The new tag (or `sha256:…` digest) of the agent's image.
        public var imageTag: String
        /// How long the rollout may take.
        public var timeout: Duration
        /// Environment variables to set, by name.
        public var environment: [String: String]
    }

    /// Checks the inputs: `image_tag` (required: a tag, or a `sha256:` digest), `timeout`
    /// (optional seconds, a number or a numeric string), `env_configs` (optional object of
    /// strings; numbers and booleans are stringified).
    ///
    /// - Throws: `FlowCommandError` naming the input.
    public static func request(_ inputs: JSONValue?) throws -> Request {
        let inputs = try CommandInputs(command: "claiflow.client.upgrade", inputs: inputs)
        var tag = try inputs.requiredString("image_tag").trimmingCharacters(in: .whitespaces)
        if tag.hasPrefix("@") { tag.removeFirst() }
        guard isTag(tag) || isDigest(tag) else {
            throw FlowCommandError(
                "\"image_tag\" must be an image tag (letters, digits, \"_\", \".\" and \"-\", at most 128) or a sha256: digest, got \(CommandInputs.quote(tag))"
            )
        }
        var timeout = defaultTimeout
        switch inputs.value("timeout") {
        case nil: break
        case let value?:
            let seconds: Double?
            switch value {
            case .integer(let number): seconds = Double(number)
            case .number(let number): seconds = number
            case .string(let text): seconds = Double(text.trimmingCharacters(in: .whitespaces))
            default: seconds = nil
            }
            guard let seconds, seconds.isFinite, seconds > 0, seconds <= 86_400 else {
                throw FlowCommandError(
                    "\"timeout\" must be a number of seconds, more than 0 and at most 86400, got \(value.serialized())")
            }
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        var environment: [String: String] = [:]
        for (name, value) in try inputs.object("env_configs") ?? [:] {
            guard !name.isEmpty, !name.contains("=") else {
                throw FlowCommandError("\"env_configs\": \(CommandInputs.quote(name)) is not a valid variable name")
            }
            guard let text = value.scalarText else {
                throw FlowCommandError(
                    "\"env_configs\": the value of \(CommandInputs.quote(name)) must be a string, got \(value.typeName)")
            }
            environment[name] = text
        }
        return Request(imageTag: tag, timeout: timeout, environment: environment)
    }

    /// Checks a step's inputs (see ``request(_:)``).
    public func validate(_ inputs: JSONValue?) throws {
        _ = try Self.request(inputs)
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, the OCI tag grammar.
    static func isTag(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// `sha256:` and 64 lowercase hex digits.
    static func isDigest(_ text: String) -> Bool {
        guard text.hasPrefix("sha256:") else { return false }
        let hex = text.utf8.dropFirst(7)
        return hex.count == 64
            && hex.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// `reference` with its tag and digest replaced by `tag` (a `sha256:` digest gives `@sha256:…`).
    /// The tag is the part after the last `:` of the last path component, so a registry port is
    /// kept: `host:5000/agent` → `host:5000/agent:<tag>`.
    public static func image(_ reference: String, withTag tag: String) -> String {
        var repository = reference
        if let at = repository.firstIndex(of: "@") { repository = String(repository[..<at]) }
        let lastComponent = repository.lastIndex(of: "/").map { repository.index(after: $0) } ?? repository.startIndex
        if let colon = repository[lastComponent...].lastIndex(of: ":") { repository = String(repository[..<colon]) }
        return repository + (isDigest(tag) ? "@" : ":") + tag
    }

    // MARK: - Upgrading

    /// Upgrades the agent's Deployment (see the type's documentation).
    ///
    /// - Parameters:
    ///   - inputs: The step's inputs (see ``request(_:)``).
    ///   - changed: Called with true once the Deployment has been patched (the rollout replaces
    ///     this pod from then on), with false when a failed rollout is being undone.
    ///
    /// - Throws: `FlowCommandError` when the inputs are invalid, the agent cannot find its
    ///   Deployment, a change is refused, or the rollout fails (after restoring the previous
    ///   state); `CancellationError` when canceled.
    public func upgrade(_ inputs: JSONValue?, changed: @escaping @Sendable (Bool) -> Void) async throws {
        let request = try Self.request(inputs)
        let target = try await locate()
        let oldTemplate = target.deployment[path: ["spec", "template"]] ?? .object([:])
        guard let oldImage = oldTemplate[path: ["spec", "containers", "0", "image"]]?.stringValue else {
            throw FlowCommandError("deployment \(target.description) has no container image to upgrade")
        }
        let newImage = Self.image(oldImage, withTag: request.imageTag)
        let stamp = Date().ISO8601Format()
        var template = oldTemplate
        template[path: ["spec", "containers", "0", "image"]] = .string(newImage)
        template[path: ["metadata", "annotations", Self.restartedAtAnnotation]] = .string(stamp)
        let sources = EnvironmentSources(client: client, namespace: target.namespace)
        template = try await sources.apply(request.environment, to: template)
        let newTemplate = template
        let changedObjects = await sources.changedObjectNames

        logger.notice(
            "upgrading the agent",
            metadata: [
                "deployment": .string(target.description), "image": .string(newImage), "previous_image": .string(oldImage),
                "changed_objects": .string(changedObjects.joined(separator: ",")),
            ])
        // The writes are not interrupted by a cancellation: a half-made change would stay.
        let deploymentPath = target.deploymentPath
        let patched = try await Task {
            try await sources.write()
            do {
                return try await client.send(
                    "PATCH", deploymentPath,
                    body: .array([
                        .object(["op": .string("replace"), "path": .string("/spec/template"), "value": newTemplate])
                    ]),
                    contentType: "application/json-patch+json")
            } catch {
                let restored = await sources.restore()
                throw FlowCommandError("cannot patch deployment \(target.description): \(Self.describe(error))\(restored)")
            }
        }.value
        changed(true)

        let generation = patched[path: ["metadata", "generation"]]?.integerValue ?? 0
        do {
            try await waitForRollout(target, generation: generation, stamp: stamp, image: newImage, timeout: request.timeout)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            changed(false)
            let reason = Self.describe(error)
            logger.error("the agent's rollout failed; restoring the previous template", metadata: ["error": .string(reason)])
            let restored = await Task {
                var notes: String
                do {
                    _ = try await client.send(
                        "PATCH", deploymentPath,
                        body: .array([
                            .object(["op": .string("replace"), "path": .string("/spec/template"), "value": oldTemplate])
                        ]),
                        contentType: "application/json-patch+json")
                    notes = "; the previous pod template was restored"
                } catch {
                    notes = "; restoring the previous pod template failed: \(Self.describe(error))"
                }
                return notes + (await sources.restore())
            }.value
            throw FlowCommandError("upgrade of deployment \(target.description) to \(newImage) failed: \(reason)\(restored)")
        }
        logger.notice(
            "the agent's new pods are available",
            metadata: ["deployment": .string(target.description), "image": .string(newImage)])
    }

    /// The error text of a failed call.
    static func describe(_ error: any Error) -> String {
        if let error = error as? FlowCommandError { return error.message }
        return String(describing: error)
    }

    // MARK: - Finding itself

    /// The agent's Deployment and where it is.
    struct Target {
        var namespace: String
        var name: String
        var deployment: JSONValue
        var description: String { "\(namespace)/\(name)" }
        var deploymentPath: String { KubernetesAgentUpgrader.deployments.objectPath(name: name, namespace: namespace) }
    }

    static let pods = KubernetesResource(name: "pods", group: "", version: "v1", isNamespaced: true)
    static let replicaSets = KubernetesResource(name: "replicasets", group: "apps", version: "v1", isNamespaced: true)
    static let deployments = KubernetesResource(name: "deployments", group: "apps", version: "v1", isNamespaced: true)

    /// Pod → controlling ReplicaSet → controlling Deployment.
    func locate() async throws -> Target {
        var namespace = client.access.namespace
        if let text = try? String(contentsOfFile: namespaceFile, encoding: .utf8),
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            namespace = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let name = try resolvedPodName()
        let pod: JSONValue
        do {
            pod = try await client.send("GET", Self.pods.objectPath(name: name, namespace: namespace))
        } catch let error as KubernetesAPIError where error.status == 404 {
            throw FlowCommandError(
                "cannot find the agent's own pod: \(error.message); set POD_NAME to the pod's name (fieldRef metadata.name)")
        }
        guard let replicaSetName = Self.controller(of: pod, kind: "ReplicaSet") else {
            throw FlowCommandError(
                "the agent's pod \(namespace)/\(name) is not run by a Deployment (\(Self.ownerText(pod))): it cannot upgrade itself"
            )
        }
        let replicaSet = try await client.send("GET", Self.replicaSets.objectPath(name: replicaSetName, namespace: namespace))
        guard let deploymentName = Self.controller(of: replicaSet, kind: "Deployment") else {
            throw FlowCommandError(
                "the agent's ReplicaSet \(namespace)/\(replicaSetName) is not run by a Deployment (\(Self.ownerText(replicaSet))): it cannot upgrade itself"
            )
        }
        let deployment = try await client.send("GET", Self.deployments.objectPath(name: deploymentName, namespace: namespace))
        return Target(namespace: namespace, name: deploymentName, deployment: deployment)
    }

    /// ``podName``, else `POD_NAME`, else `HOSTNAME`, else the host name.
    func resolvedPodName() throws -> String {
        for candidate in [podName, environment["POD_NAME"], environment["HOSTNAME"]] {
            if let candidate, !candidate.isEmpty { return candidate }
        }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else {
            throw FlowCommandError("cannot tell the agent's pod name: set POD_NAME")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The name of the object's controller of `kind`, from its owner references.
    static func controller(of object: JSONValue, kind: String) -> String? {
        let owners = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
        let owner = owners.first { $0[path: ["controller"]] == .bool(true) } ?? owners.first
        guard let owner, owner[path: ["kind"]]?.stringValue == kind else { return nil }
        return owner[path: ["name"]]?.stringValue
    }

    static func ownerText(_ object: JSONValue) -> String {
        let owners = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
        let names = owners.map { "\($0[path: ["kind"]]?.stringValue ?? "?") \($0[path: ["name"]]?.stringValue ?? "?")" }
        return names.isEmpty ? "no owner" : "owned by " + names.joined(separator: ", ")
    }

    // MARK: - Watching the rollout

    /// Polls the Deployment until the new pods are available; throws when the rollout fails or
    /// the timeout passes. Calls that fail for another reason than a refusal are retried (the
    /// API server may be briefly away).
    func waitForRollout(_ target: Target, generation: Int64, stamp: String, image: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var status = "waiting for the Deployment controller"
        while true {
            var progress: Progress?
            do {
                let deployment = try await client.send("GET", target.deploymentPath)
                progress = try await rollout(of: deployment, target, generation: generation, stamp: stamp, image: image)
            } catch let error as KubernetesAPIError where error.status == 404 {
                throw FlowCommandError("deployment \(target.description) was deleted during the rollout")
            } catch let error as KubernetesAPIError where error.status == 401 || error.status == 403 {
                throw error
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                status = "last check failed: \(Self.describe(error))"
            }
            switch progress {
            case .done?: return
            case .failed(let reason)?: throw FlowCommandError(reason)
            case .waiting(let text)?: status = text
            case nil: break
            }
            guard ContinuousClock.now + pollInterval < deadline else {
                throw FlowCommandError(
                    "the rollout did not complete within \(KubernetesClient.describe(TimeAmount(timeout))) (\(status))")
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    enum Progress: Equatable {
        case done
        case waiting(String)
        case failed(String)
    }

    /// Where a rollout stands, as `kubectl rollout status` judges it, except that it is done as
    /// soon as the new ReplicaSet's pods are all available (the old pods, this one among them,
    /// are then being terminated).
    func rollout(
        of deployment: JSONValue, _ target: Target, generation: Int64, stamp: String, image: String
    ) async throws
        -> Progress
    {
        let status = deployment[path: ["status"]] ?? .object([:])
        guard (status[path: ["observedGeneration"]]?.integerValue ?? 0) >= generation else {
            return .waiting("the Deployment controller has not observed the change yet")
        }
        for condition in status[path: ["conditions"]]?.arrayValue ?? []
        where condition[path: ["type"]] == .string("Progressing")
            && condition[path: ["reason"]] == .string("ProgressDeadlineExceeded")
        {
            let message = condition[path: ["message"]]?.stringValue ?? ""
            return .failed("the rollout exceeded its progress deadline (ProgressDeadlineExceeded: \(message))")
        }
        let replicas = deployment[path: ["spec", "replicas"]]?.integerValue ?? 1
        let updated = status[path: ["updatedReplicas"]]?.integerValue ?? 0
        let total = status[path: ["replicas"]]?.integerValue ?? 0
        let available = status[path: ["availableReplicas"]]?.integerValue ?? 0
        let text = "\(updated) of \(replicas) updated replicas, \(available) available, \(total) in all"
        guard updated >= replicas else { return .waiting(text) }
        if total <= updated && available >= replicas { return .done }
        // The old pods pending termination include this one: look at the new ReplicaSet itself.
        var query: [(String, String)] = []
        if let labels = deployment[path: ["spec", "selector", "matchLabels"]]?.objectValue, !labels.isEmpty {
            query.append(("labelSelector", try KubernetesCommands.labelSelector(labels)))
        }
        let list = try await client.send("GET", Self.replicaSets.collectionPath(namespace: target.namespace), query: query)
        let uid = deployment[path: ["metadata", "uid"]]
        let current = (list[path: ["items"]]?.arrayValue ?? []).first { replicaSet in
            let owned = (replicaSet[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains {
                $0[path: ["uid"]] == uid
            }
            let template = replicaSet[path: ["spec", "template"]]
            return owned && template?[path: ["metadata", "annotations", Self.restartedAtAnnotation]] == .string(stamp)
                && template?[path: ["spec", "containers", "0", "image"]] == .string(image)
        }
        if let current, (current[path: ["status", "availableReplicas"]]?.integerValue ?? 0) >= replicas {
            return .done
        }
        return .waiting(text + "; the new pods are not all available yet")
    }
}
