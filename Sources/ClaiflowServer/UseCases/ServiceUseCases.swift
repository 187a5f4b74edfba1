import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore

/// The template and service use cases.
public struct ServiceUseCases: Sendable {
    private let store: Store
    /// Checks flows and builds input schemas.
    public let checker: any FlowChecker
    private let compiledTemplates = TemplateCache()
    let events: DispatchEvents?

    init(store: Store, checker: any FlowChecker, events: DispatchEvents? = nil) {
        self.store = store
        self.checker = checker
        self.events = events
    }

    /// The most clusters one create request may name.
    public static let maxClustersPerRequest = 1000

    // MARK: Templates

    /// The templates a list query selects.
    public func templates(_ query: ListQuery) async throws -> [Template] { try await store.templates(query) }

    /// One template.
    public func template(uuid: String) async throws -> Template {
        guard let t = try await store.template(uuid: uuid) else { throw ClaiflowError.notFound("template", uuid) }
        return t
    }

    /// A template's flow and schema, checked.
    func checkTemplate(flow: JSONValue, inputs: JSONValue) throws(ClaiflowError) -> (FlowInfo, String) {
        let info: FlowInfo
        do {
            info = try checker.check(flow: flow)
        } catch {
            throw ClaiflowError.invalidField("flow", error.message)
        }
        do {
            _ = try checker.compile(schema: inputs)
        } catch {
            throw ClaiflowError.invalidField("inputs", error.message)
        }
        return (info, inputs.serialized())
    }

    /// Creates a template after validating its flow and its inputs schema.
    public func createTemplate(
        uuid: String?, name: String, summary: String?, flow: JSONValue, inputs: JSONValue, origin: String
    ) async throws -> Template {
        let (info, schemaText) = try checkTemplate(flow: flow, inputs: inputs)
        let now = Timestamp.now()
        let t = Template(
            uuid: uuid ?? Identifier.generate(), name: name, summary: summary, flow: info.normalized, inputs: schemaText,
            origin: origin, builtin: false, created: now, updated: now)
        try await store.insertTemplate(t)
        return t
    }

    /// Changes a template; a new flow or schema is validated first.
    public func updateTemplate(
        uuid: String, name: String?, summary: String?, flow: JSONValue?, inputs: JSONValue?, origin: String?
    ) async throws -> Template {
        var changes = TemplateChanges(name: name, summary: summary, origin: origin)
        if let flow {
            do {
                changes.flow = try checker.check(flow: flow).normalized
            } catch {
                throw ClaiflowError.invalidField("flow", error.message)
            }
        }
        if let inputs {
            do {
                _ = try checker.compile(schema: inputs)
            } catch {
                throw ClaiflowError.invalidField("inputs", error.message)
            }
            changes.inputs = inputs.serialized()
        }
        guard !changes.isEmpty else {
            throw ClaiflowError(.invalidArgument, "nothing to change: give name, summary, flow, inputs and/or origin")
        }
        guard let t = try await store.updateTemplate(uuid: uuid, changes: changes, now: .now()) else {
            throw ClaiflowError.notFound("template", uuid)
        }
        return t
    }

    /// Deletes a template. A built-in one needs `force`.
    public func deleteTemplate(uuid: String, force: Bool) async throws {
        guard let t = try await store.template(uuid: uuid) else { throw ClaiflowError.notFound("template", uuid) }
        if t.builtin, !force {
            throw ClaiflowError(
                .conflict,
                "template \"\(uuid)\" is built in; delete it with ?force=true if you really mean to (it will not come back)")
        }
        guard try await store.deleteTemplate(uuid: uuid) else { throw ClaiflowError.notFound("template", uuid) }
    }

    /// A template's flow facts.
    public func flowInfo(of t: Template) -> FlowInfo? {
        guard let json = try? JSONValue.parse(t.flow) else { return nil }
        return try? checker.check(flow: json)
    }

    // MARK: Services

    /// What a service create request asks for.
    public struct CreateServices: Sendable {
        public var clusterUUIDs: [String]
        public var uuid: String?
        public var name: String?
        public var summary: String?
        public var templateUUID: String?
        public var flow: JSONValue?
        public var inputs: JSONValue?
        public var priority: Int?
        public var webhook: String?
        /// How long an agent may run each service (nil: no limit).
        public var timeout: ServiceTimeout?

        public init(
            clusterUUIDs: [String], uuid: String? = nil, name: String? = nil, summary: String? = nil,
            templateUUID: String? = nil, flow: JSONValue? = nil, inputs: JSONValue? = nil, priority: Int? = nil,
            webhook: String? = nil, timeout: ServiceTimeout? = nil
        ) {
            self.timeout = timeout
            self.clusterUUIDs = clusterUUIDs
            self.uuid = uuid
            self.name = name
            self.summary = summary
            self.templateUUID = templateUUID
            self.flow = flow
            self.inputs = inputs
            self.priority = priority
            self.webhook = webhook
        }
    }

    /// Creates one service per cluster (all or none) from a template — inputs validated against
    /// its schema — or from an inline flow. Returns them with their initial status.
    ///
    /// A template is read in the insert's own transaction (one trip to the store, and the
    /// services are made from the template as it is when they commit); its flow and schema are
    /// compiled once per content (``TemplateCache``).
    public func createServices(_ r: CreateServices) async throws -> [ServiceDetail] {
        var seen = Set<String>()
        for c in r.clusterUUIDs where !seen.insert(c).inserted {
            throw ClaiflowError.invalidField("cluster_uuids", "cluster \"\(c)\" is listed twice")
        }
        if let hook = r.webhook, try await store.webhook(uuid: hook) == nil {
            throw ClaiflowError.invalidField("webhook", "webhook \"\(hook)\" does not exist")
        }
        let uuid = r.uuid ?? Identifier.generate()
        let now = Timestamp.now()
        let services: [Service]
        if let templateUUID = r.templateUUID, r.flow == nil {
            services = try await store.insertServices(template: templateUUID) { t in
                try self.services(r, from: try self.source(template: t, uuid: templateUUID), uuid: uuid, now: now)
            }
        } else {
            services = try self.services(
                r, from: try await source(templateUUID: r.templateUUID, flow: r.flow), uuid: uuid, now: now)
            try await store.insertServices(services)
        }
        events?.servicesCreated(on: r.clusterUUIDs, validUntil: now.adding(.seconds(1)), deliveries: r.webhook != nil)
        return services.map { s in
            ServiceDetail(
                service: s,
                statuses: [
                    ServiceStatusRecord(
                        stepMax: s.stepMax, stepSeq: 0, status: .regist, started: nil, ended: nil, message: nil, created: now)
                ], result: nil)
        }
    }

    /// The services a create request asks for, one per cluster, made from `source` after
    /// checking the inputs against its schema (400 naming `inputs` otherwise).
    func services(_ r: CreateServices, from source: Source, uuid: String, now: Timestamp) throws(ClaiflowError) -> [Service] {
        if let schema = source.schema {
            // Absent inputs are checked as `{}` (so a schema with nothing required accepts them) and stored as null.
            let violations = schema.violations(of: r.inputs ?? .object([:]))
            if !violations.isEmpty {
                throw ClaiflowError(
                    .invalidArgument,
                    "field \"inputs\": does not match the template's schema: " + violations.joined(separator: "; "))
            }
        }
        var name = r.name
        var summary = r.summary
        var priority = r.priority
        if let t = source.template {
            if name?.isEmpty ?? true { name = t.name }
            if summary == nil { summary = t.summary }
            if priority == nil { priority = source.defaultPriority }
        }
        let inputs = (r.inputs ?? .null).serialized()
        return r.clusterUUIDs.map { cluster in
            var s = Service(
                clusterUUID: cluster, uuid: uuid, name: (name?.isEmpty ?? true) ? uuid : name ?? uuid, summary: summary,
                templateUUID: source.templateUUID, flow: source.flow, inputs: inputs, stepMax: source.stepMax,
                priority: priority ?? ServicePriority.low.rawValue, webhook: r.webhook, status: .regist, stepSeq: 0,
                cancelRequested: false, created: now, updated: now)
            s.timeout = r.timeout
            s.needsFlowV2 = source.needsFlowV2
            return s
        }
    }

    /// What services run: a template's flow (with the schema their inputs must match) or an
    /// inline flow, checked.
    struct Source: Sendable {
        var flow: String
        var stepMax: Int
        /// "" for an inline flow.
        var templateUUID: String
        var template: Template?
        var schema: (any InputsSchema)?
        /// Whether the flow uses the flow language v2 (only agents that run it may receive it).
        var needsFlowV2: Bool
        /// High for `system` templates, low otherwise.
        var defaultPriority: Int {
            template?.origin == "system" ? ServicePriority.high.rawValue : ServicePriority.low.rawValue
        }
    }

    /// Resolves `template_uuid` or `flow` (exactly one): 400 naming the field otherwise.
    func source(templateUUID: String?, flow: JSONValue?) async throws -> Source {
        switch (templateUUID, flow) {
        case (.some, .some):
            throw ClaiflowError(.invalidArgument, "give either template_uuid or flow, not both")
        case (.none, .none):
            throw ClaiflowError(.invalidArgument, "field \"template_uuid\": is required (or give an inline flow)")
        case (.some(let uuid), .none):
            return try source(template: try await store.template(uuid: uuid), uuid: uuid)
        case (.none, .some(let flow)):
            let info: FlowInfo
            do {
                info = try checker.check(flow: flow)
            } catch {
                throw ClaiflowError.invalidField("flow", error.message)
            }
            return Source(
                flow: info.normalized, stepMax: info.stepMax, templateUUID: "", template: nil, schema: nil,
                needsFlowV2: info.usesFlowV2)
        }
    }

    /// A template's source: 400 naming `template_uuid` when `t` (read under `uuid`) is nil, 400
    /// when its flow or schema does not check.
    func source(template t: Template?, uuid: String) throws(ClaiflowError) -> Source {
        guard let t else { throw ClaiflowError.invalidField("template_uuid", "template \"\(uuid)\" does not exist") }
        let compiled = try compiledTemplates.compiled(t, checker: checker)
        guard let info = compiled.flow else {
            throw ClaiflowError(.invalidArgument, "template \"\(uuid)\" has an invalid flow; fix the template first")
        }
        return Source(
            flow: t.flow, stepMax: info.stepMax, templateUUID: t.uuid, template: t, schema: compiled.schema,
            needsFlowV2: info.usesFlowV2)
    }

    /// Lists services with their status histories.
    public func listServices(_ query: ListQuery) async throws -> [ServiceDetail] {
        let services = try await store.services(query)
        let histories = try await store.statusHistories(of: services)
        return services.map { s in
            ServiceDetail(service: s, statuses: histories[s.clusterUUID + "/" + s.uuid] ?? [], result: nil)
        }
    }

    /// One service with its history and result.
    public func service(clusterUUID: String, uuid: String) async throws -> ServiceDetail {
        guard let d = try await store.serviceDetail(clusterUUID: clusterUUID, uuid: uuid) else {
            throw ClaiflowError(.notFound, "service \"\(uuid)\" not found on cluster \"\(clusterUUID)\"")
        }
        return d
    }

    /// Cancels a service; 409 when it had already finished.
    public func cancel(clusterUUID: String, uuid: String) async throws -> ServiceDetail {
        guard let outcome = try await store.cancelService(clusterUUID: clusterUUID, uuid: uuid, now: .now()) else {
            throw ClaiflowError(.notFound, "service \"\(uuid)\" not found on cluster \"\(clusterUUID)\"")
        }
        if case .alreadyFinished(let s) = outcome {
            throw ClaiflowError(.conflict, "service \"\(uuid)\" has already finished (\(s.status.name))")
        }
        events?.statusChanged()
        if case .requested = outcome { await events?.cancelRequested(on: [clusterUUID]) }
        return try await service(clusterUUID: clusterUUID, uuid: uuid)
    }
}
