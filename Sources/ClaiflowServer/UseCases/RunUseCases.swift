import ClaiflowCore
import ClaiflowJQ
import ClaiflowQuery
import ClaiflowStore

/// The fleet run use cases: create a run over a selected or named set of clusters, read it,
/// its merged result, list and cancel runs. Runs move on in the store as their services end.
public struct RunUseCases: Sendable {
    private let store: Store
    private let services: ServiceUseCases
    private let settings: SettingsCache
    let events: DispatchEvents?

    init(store: Store, services: ServiceUseCases, settings: SettingsCache, events: DispatchEvents? = nil) {
        self.store = store
        self.services = services
        self.settings = settings
        self.events = events
    }

    /// The most clusters one run may target.
    public static let maxClusters = 10_000

    /// The target of a run.
    public enum Target: Sendable {
        case selector(LabelSelector)
        case clusters([String])
    }

    /// What a run create request asks for.
    public struct CreateRun: Sendable {
        public var uuid: String?
        public var name: String
        public var summary: String?
        public var templateUUID: String?
        public var flow: JSONValue?
        public var inputs: JSONValue?
        public var target: Target
        public var strategy: RunStrategy
        public var webhook: String?
        public var includePaused: Bool
        /// Each service's `timeout` (nil: none).
        public var timeout: ServiceTimeout?

        public init(
            uuid: String? = nil, name: String, summary: String? = nil, templateUUID: String? = nil, flow: JSONValue? = nil,
            inputs: JSONValue? = nil, target: Target, strategy: RunStrategy = RunStrategy(), webhook: String? = nil,
            includePaused: Bool = false, timeout: ServiceTimeout? = nil
        ) {
            self.timeout = timeout
            self.uuid = uuid
            self.name = name
            self.summary = summary
            self.templateUUID = templateUUID
            self.flow = flow
            self.inputs = inputs
            self.target = target
            self.strategy = strategy
            self.webhook = webhook
            self.includePaused = includePaused
        }
    }

    /// Creates a run: resolves its target once (paused clusters skipped unless
    /// `includePaused`), resolves and checks every cluster's inputs (all or nothing: a 400
    /// lists the clusters whose inputs fail), then writes the run, its clusters and one service
    /// per started cluster in one transaction, the first wave released.
    public func create(_ r: CreateRun) async throws -> (Run, [RunCluster]) {
        let creation = try await prepare(r)
        try await commit(creation)
        return try await detail(uuid: creation.run.uuid)
    }

    /// Writes a prepared run in one transaction and wakes its first wave's agents.
    func commit(_ creation: RunCreation) async throws {
        let released = try await store.insertRun(creation)
        // A run enqueues a delivery at creation only when it has ended at once (every cluster
        // skipped) and names a webhook.
        events?.servicesCreated(
            on: released, validUntil: creation.run.created.adding(.seconds(1)),
            deliveries: creation.services.isEmpty && creation.run.webhook != nil)
    }

    /// Checks a run create request and builds what ``commit(_:)`` writes, without writing
    /// anything: every error a create would answer (a schedule's run body is checked by this).
    func prepare(_ r: CreateRun) async throws -> RunCreation {
        let source = try await services.source(templateUUID: r.templateUUID, flow: r.flow)
        if let hook = r.webhook, try await store.webhook(uuid: hook) == nil {
            throw ClaiflowError.invalidField("webhook", "webhook \"\(hook)\" does not exist")
        }
        let targets = try await resolve(r.target)
        let inputs = r.inputs ?? .object([:])
        let perCluster = RunInputs.hasReferences(inputs)
        var problems: [String] = []
        if !perCluster, let schema = source.schema {
            let violations = schema.violations(of: inputs)
            if !violations.isEmpty {
                throw ClaiflowError(
                    .invalidArgument,
                    "field \"inputs\": does not match the template's schema: " + violations.joined(separator: "; "))
            }
        }
        let now = Timestamp.now()
        let runUUID = r.uuid ?? Identifier.generate()
        let serviceUUID = Identifier.generate()
        var clusters: [RunCluster] = []
        var created: [Service] = []
        let priority = source.defaultPriority
        for (position, c) in targets.enumerated() {
            let skipped = c.pausedSince != nil && !r.includePaused
            clusters.append(
                RunCluster(
                    position: position, clusterUUID: c.uuid, clusterName: c.name, labels: c.labels,
                    status: skipped ? .skipped : .pending, message: skipped ? "the cluster was paused" : nil, started: nil,
                    ended: skipped ? now : nil))
            if skipped { continue }
            var own = inputs
            if perCluster {
                switch Self.inputs(inputs, for: c, schema: source.schema) {
                case .success(let resolved): own = resolved
                case .failure(let e):
                    problems.append("cluster \"\(c.uuid)\" (\(c.name)): \(e.message)")
                    continue
                }
            }
            var s = Service(
                clusterUUID: c.uuid, uuid: serviceUUID, name: r.name, summary: r.summary, templateUUID: source.templateUUID,
                flow: source.flow, inputs: (r.inputs == nil ? JSONValue.null : own).serialized(), stepMax: source.stepMax,
                priority: priority, webhook: nil, status: .regist, stepSeq: 0, cancelRequested: false, created: now,
                updated: now)
            s.runUUID = runUUID
            s.timeout = r.timeout
            s.needsFlowV2 = source.needsFlowV2
            created.append(s)
        }
        if !problems.isEmpty {
            let shown = problems.prefix(20).joined(separator: "; ")
            let more = problems.count > 20 ? "; and \(problems.count - 20) more" : ""
            throw ClaiflowError(
                .invalidArgument,
                "field \"inputs\": does not hold for \(problems.count) of the \(targets.count) clusters: \(shown)\(more)")
        }
        let selector: String? = if case .selector(let s) = r.target { s.description } else { nil }
        let run = Run(
            uuid: runUUID, name: r.name, summary: r.summary, templateUUID: source.templateUUID, selector: selector,
            strategy: r.strategy, webhook: r.webhook, includePaused: r.includePaused, serviceUUID: serviceUUID,
            progress: RunProgress(total: created.count, skipped: clusters.count - created.count, strategy: r.strategy),
            created: now, updated: now, ended: nil)
        var timeoutShift: Int64 = 0
        if let timeout = r.strategy.clusterTimeout {
            let validity = settings.settings.serviceValidityPeriod
            timeoutShift = (timeout.nanoseconds - validity.nanoseconds) / 1000
        }
        return RunCreation(run: run, clusters: clusters, services: created, timeoutShift: timeoutShift)
    }

    /// One cluster's inputs: references resolved, then checked against the template's schema.
    static func inputs(_ inputs: JSONValue, for c: Cluster, schema: (any InputsSchema)?) -> Result<JSONValue, ClaiflowError> {
        let own: JSONValue
        do {
            own = try RunInputs.resolve(inputs, uuid: c.uuid, name: c.name, labels: c.labels)
        } catch {
            return .failure(error)
        }
        let violations = schema?.violations(of: own) ?? []
        guard violations.isEmpty else { return .failure(ClaiflowError(.invalidArgument, violations.joined(separator: "; "))) }
        return .success(own)
    }

    /// The clusters a target names, in order: a selector's by creation, named ones as given.
    func resolve(_ target: Target) async throws -> [Cluster] {
        switch target {
        case .selector(let selector):
            let found = try await store.clusters(
                ListQuery(page: Page(limit: Self.maxClusters + 1, offset: 0)), selector: selector)
            guard !found.isEmpty else { throw ClaiflowError.invalidField("selector", "selects no cluster") }
            guard found.count <= Self.maxClusters else {
                throw ClaiflowError.invalidField("selector", "selects more than \(Self.maxClusters) clusters")
            }
            return found
        case .clusters(let uuids):
            var seen = Set<String>()
            for c in uuids where !seen.insert(c).inserted {
                throw ClaiflowError.invalidField("cluster_uuids", "cluster \"\(c)\" is listed twice")
            }
            var byUUID: [String: Cluster] = [:]
            for chunk in stride(from: 0, to: uuids.count, by: 500) {
                let ids = uuids[chunk..<min(chunk + 500, uuids.count)].map { QueryValue.text($0) }
                for c in try await store.clusters(ListQuery(condition: .inList(column: "uuid", values: ids))) {
                    byUUID[c.uuid] = c
                }
            }
            return try uuids.map { id in
                guard let c = byUUID[id] else {
                    throw ClaiflowError.invalidField("cluster_uuids", "cluster \"\(id)\" does not exist")
                }
                return c
            }
        }
    }

    /// One run with its clusters.
    public func detail(uuid: String) async throws -> (Run, [RunCluster]) {
        guard let d = try await store.runDetail(uuid: uuid) else { throw ClaiflowError.notFound("run", uuid) }
        return d
    }

    /// The runs a list query selects (without their clusters).
    public func list(_ query: ListQuery) async throws -> [Run] { try await store.runs(query) }

    /// A run's clusters with their results: `{"clusters": [{"cluster": {uuid, name, labels},
    /// "status", "result", "error"}]}`, each result as JSON (text that is not JSON as a string).
    /// With `reduce`, the jq program's output over that array: `{"result": …}` (several outputs
    /// as an array, none as null); a program that does not compile or fails is a 400 with jq's message.
    public func result(uuid: String, reduce: String?) async throws -> JSONValue {
        let program = try reduce.map(Self.compile)
        guard let rows = try await store.runResults(uuid: uuid) else { throw ClaiflowError.notFound("run", uuid) }
        let clusters = JSONValue.array(
            rows.map { c, text in
                var result: JSONValue = .null
                if let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                    result = (try? JSONValue.parse(text)) ?? .string(text)
                }
                let failed: Set<RunCluster.Status> = [.failed, .expired, .canceled, .skipped]
                return .object([
                    "cluster": .object([
                        "uuid": .string(c.clusterUUID), "name": .string(c.clusterName),
                        "labels": .object(c.labels.values.mapValues { .string($0) }),
                    ]),
                    "status": .string(c.status.rawValue), "result": result,
                    "error": failed.contains(c.status) ? c.message.map { .string($0) } ?? .null : .null,
                ])
            })
        guard let program else { return .object(["clusters": clusters]) }
        return .object(["result": try Self.reduce(clusters, with: program)])
    }

    /// Compiles a `reduce` program; 400 with jq's message.
    static func compile(_ filter: String) throws(ClaiflowError) -> JQProgram {
        do {
            return try JQProgram(filter: filter)
        } catch {
            throw ClaiflowError(.invalidArgument, "parameter reduce: \(error.message)")
        }
    }

    /// Runs a `reduce` program: its one output, several as an array, none as null; 400 with jq's message.
    static func reduce(_ clusters: JSONValue, with program: JQProgram) throws(ClaiflowError) -> JSONValue {
        let outputs: [JSONValue]
        do {
            outputs = try program.run(clusters)
        } catch {
            throw ClaiflowError(.invalidArgument, "parameter reduce: \(error.message)")
        }
        return outputs.count == 1 ? outputs[0] : outputs.isEmpty ? .null : .array(outputs)
    }

    /// Cancels a run: held services end canceled, released ones by the service cancel rule;
    /// 409 when it has already ended.
    public func cancel(uuid: String) async throws -> (Run, [RunCluster]) {
        guard let outcome = try await store.cancelRun(uuid: uuid, now: .now()) else { throw ClaiflowError.notFound("run", uuid) }
        switch outcome {
        case .alreadyEnded(let run):
            throw ClaiflowError(.conflict, "run \"\(uuid)\" has already ended (\(run.progress.state.rawValue))")
        case .canceled(let run):
            // Its services name no webhook: only the run's end enqueues a delivery.
            if run.ended != nil, run.webhook != nil { events?.statusChanged() }
        }
        let detail = try await detail(uuid: uuid)
        // Its running services were asked to stop: their agents' cancellation watches look again.
        await events?.cancelRequested(on: detail.1.filter { [.running, .pending].contains($0.status) }.map(\.clusterUUID))
        return detail
    }
}
