import ClaiflowCore
import ClaiflowQuery
import Synchronization

extension Store {
    /// Maps service rows, opening inputs sealed with the cipher (older plaintext rows pass through).
    var serviceMapper: @Sendable (SQLRow) throws -> Service {
        let box = inputsCipher
        return { r in
            var s = try Store.service(r)
            if let box, s.inputs.hasPrefix("v1:") { s.inputs = try box.open(s.inputs) }
            return s
        }
    }

    static func service(_ r: SQLRow) throws -> Service {
        guard let status = ServiceStatus(rawValue: Int(try r.integer("status"))) else {
            throw StoreError.corrupt("unknown service status")
        }
        var s = Service(
            clusterUUID: try r.text("cluster_uuid"), uuid: try r.text("uuid"), name: try r.text("name"),
            summary: r.optionalText("summary"), templateUUID: try r.text("template_uuid"), flow: try r.text("flow"),
            inputs: try r.text("inputs"), stepMax: Int(try r.integer("step_max")), priority: Int(try r.integer("priority")),
            webhook: r.optionalText("webhook"), status: status, stepSeq: Int(try r.integer("step_seq")),
            cancelRequested: try r.integer("cancel_requested") != 0, created: try r.timestamp("created"),
            updated: try r.timestamp("updated"))
        s.sessionUUID = r.optionalText("session_uuid")
        s.runUUID = r.optionalText("run_uuid")
        s.timeout = ServiceTimeout(microseconds: r.optionalInteger("timeout") ?? 0)
        s.needsFlowV2 = (r.optionalInteger("flow_v2") ?? 0) != 0
        return s
    }

    static func statusRecord(_ r: SQLRow) throws -> ServiceStatusRecord {
        guard let status = ServiceStatus(rawValue: Int(try r.integer("status"))) else {
            throw StoreError.corrupt("unknown service status")
        }
        return ServiceStatusRecord(
            stepMax: Int(try r.integer("step_max")), stepSeq: Int(try r.integer("step_seq")), status: status,
            started: r.optionalTimestamp("started"), ended: r.optionalTimestamp("ended"),
            message: r.optionalText("message").map(ReportText.decode),
            created: try r.timestamp("created"))
    }

    /// Inserts services (one per cluster) with their initial `regist` status rows in one
    /// transaction: all or none. 400 naming `cluster_uuid` when a cluster does not exist, 409 when
    /// a uuid is already used on one of the clusters.
    public func insertServices(_ services: [Service]) async throws {
        try await insertServices(template: nil) { _ in services }
    }

    /// Inserts the services `make` returns, as ``insertServices(_:)`` does, and returns them.
    /// When `template` names one, its row is read and handed to `make` (nil when no template has
    /// that uuid). On SQLite the read is in the insert's transaction: the services are made from
    /// the template as it is when they commit, and the create costs no read of its own. On
    /// PostgreSQL the template is read first (one autocommitted statement) and a lone service
    /// without webhook or run is then inserted with its status row by one autocommitted
    /// statement (``insertService(_:sealedInputs:on:)``). `make` may run more than once
    /// (PostgreSQL retries a transaction it aborted); what it throws reaches the caller and
    /// nothing is written.
    @discardableResult
    public func insertServices(
        template uuid: String?, _ make: @escaping @Sendable (Template?) throws -> [Service]
    ) async throws -> [Service] {
        let box = inputsCipher
        if let pg = database as? PostgresDatabase {
            var template: Template?
            if let uuid { template = try await self.template(uuid: uuid) }
            let services = try make(template)
            if services.count == 1, services[0].webhook == nil, services[0].runUUID == nil {
                try await insertService(
                    services[0], sealedInputs: try box?.seal(services[0].inputs) ?? services[0].inputs, on: pg)
                return services
            }
        }
        // What was made, for the message of a uniqueness conflict.
        let made = Mutex<[Service]>([])
        do {
            return try await write("service.insert") { db in
                var template: Template?
                if let uuid {
                    template = try await db.first("SELECT * FROM template WHERE uuid = \(bind: uuid)").map(Self.template)
                }
                let services = try make(template)
                made.withLock { $0 = services }
                let sealedInputs = try services.map { try box?.seal($0.inputs) ?? $0.inputs }
                Self.notify(db, services.map { .wake(cluster: $0.clusterUUID) })
                let wanted = Array(Set(services.map(\.clusterUUID))).sorted()
                if let missing = try await Self.firstMissingCluster(db, wanted, lock: false) {
                    throw ClaiflowError.invalidField("cluster_uuid", "cluster \"\(missing)\" does not exist")
                }
                try await Self.insertServiceRows(db, services, sealedInputs: sealedInputs)
                return services
            }
        } catch StoreError.uniqueViolation {
            let services = made.withLock { $0 }
            let clusters = services.map(\.clusterUUID)
            throw ClaiflowError(
                .conflict,
                "service \"\(services.first?.uuid ?? "")\" already exists on \(clusters.count == 1 ? "cluster \"\(clusters[0])\"" : "one of the clusters")"
            )
        }
    }

    /// Inserts service rows with their initial `regist` status rows, in the caller's transaction:
    /// multi-row INSERTs, one round trip per 100 services. `placement(i)` says whether the
    /// `i`-th is held back from agents (a run's later waves) and how far its validity clock start
    /// is moved (see ``RunCreation/timeoutShift``).
    static func insertServiceRows(
        _ db: any SQLExecutor, _ services: [Service], sealedInputs: [String],
        placement: (Int) -> (held: Bool, validityShift: Int64) = { _ in (false, 0) }
    ) async throws {
        for chunk in stride(from: 0, to: services.count, by: 100) {
            let batch = services[chunk..<min(chunk + 100, services.count)]
            let rows = batch.indices.map { i -> SQL in
                let (held, shift) = placement(i)
                return "(" + serviceRowValues(services[i], sealedInputs: sealedInputs[i], held: held, validityShift: shift) + ")"
            }
            try await db.execute("INSERT INTO service " + serviceColumns + " VALUES " + SQL.join(rows, separator: ", "))
            try await insertStatusRows(db, batch.map(registChange))
        }
    }

    /// The columns of a `service` row, in the order of ``serviceRowValues(_:sealedInputs:held:validityShift:)``.
    static let serviceColumns: SQL = """
        (cluster_uuid, uuid, name, summary, template_uuid, flow, inputs, step_max,
            priority, webhook, status, step_seq, cancel_requested, created, updated, run_uuid, held, validity_shift,
            timeout, flow_v2)
        """

    /// The values of a new service's row, comma-separated.
    static func serviceRowValues(_ s: Service, sealedInputs: String, held: Bool, validityShift: Int64) -> SQL {
        """
        \(bind: s.clusterUUID), \(bind: s.uuid), \(bind: s.name), \(bind: s.summary), \(bind: s.templateUUID),
            \(bind: s.flow), \(bind: sealedInputs), \(bind: s.stepMax), \(bind: s.priority), \(bind: s.webhook),
            \(bind: s.status), \(bind: s.stepSeq), \(bind: s.cancelRequested ? 1 : 0),
            \(bind: .timestamp(s.created)), \(bind: .timestamp(s.updated)), \(bind: s.runUUID), \(bind: held ? 1 : 0),
            \(bind: validityShift), \(bind: s.timeout?.microseconds ?? 0), \(bind: s.needsFlowV2 ? 1 : 0)
        """
    }

    /// A new service's first status change (`regist`, at its creation).
    static func registChange(_ s: Service) -> StatusChange {
        StatusChange(
            service: s,
            record: ServiceStatusRecord(
                stepMax: s.stepMax, stepSeq: 0, status: .regist, started: nil, ended: nil, message: nil, created: s.created))
    }

    /// Lists services (without history), newest first unless the query orders them.
    public func services(_ query: ListQuery) async throws -> [Service] {
        try await list(
            "service.list", table: "service", query: query, newestFirst: true, aliases: ["subscribed_channel": "webhook"],
            map: serviceMapper)
    }

    /// The status histories of services, oldest first, keyed by `cluster_uuid/uuid`.
    public func statusHistories(of services: [Service]) async throws -> [String: [ServiceStatusRecord]] {
        guard !services.isEmpty else { return [:] }
        let keys = services.map { SQL("(cluster_uuid = \(bind: $0.clusterUUID) AND uuid = \(bind: $0.uuid))") }
        let condition = SQL.join(keys, separator: " OR ")
        return try await read("service.statuses") { db in
            var out: [String: [ServiceStatusRecord]] = [:]
            for row in try await db.query("SELECT * FROM service_status WHERE \(condition) ORDER BY id") {
                out[try row.text("cluster_uuid") + "/" + row.text("uuid"), default: []].append(try Self.statusRecord(row))
            }
            return out
        }
    }

    /// One service with its history and result, or nil.
    public func serviceDetail(clusterUUID: String, uuid: String) async throws -> ServiceDetail? {
        let mapService = serviceMapper
        return try await read("service.get") { db in
            guard
                let s = try await db.first(
                    "SELECT * FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)"
                ).map(mapService)
            else { return nil }
            let statuses = try await db.query(
                "SELECT * FROM service_status WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid) ORDER BY id"
            ).map(Self.statusRecord)
            let result = try await db.first(
                "SELECT * FROM service_result WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)"
            ).map { r in
                ServiceResult(
                    saveType: Int(try r.integer("result_type")), result: ReportText.decode(try r.text("result")),
                    created: try r.timestamp("created")
                )
            }
            return ServiceDetail(service: s, statuses: statuses, result: result)
        }
    }

    /// What a cancel request did.
    public enum CancelOutcome: Sendable, Equatable {
        /// The service had not been delivered: it is `canceled` now.
        case canceled(Service)
        /// The service is running: the request is recorded for its agent.
        case requested(Service)
        /// The service had already finished.
        case alreadyFinished(Service)
    }

    /// Cancels a service by ``ServiceCancelRule``: a queued one ends `canceled` at once, a
    /// delivered one gets `cancel_requested`; nil when it does not exist.
    public func cancelService(clusterUUID: String, uuid: String, now: Timestamp) async throws -> CancelOutcome? {
        let mapService = serviceMapper
        let (outcome, released) = try await write("service.cancel") { db -> (CancelOutcome?, RunAdvance) in
            guard
                let s = try await db.first(
                    "SELECT * FROM service WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)"
                ).map(mapService)
            else { return (nil, .none) }
            switch ServiceCancelRule.decide(s, now: now) {
            case .alreadyFinished:
                return (.alreadyFinished(s), .none)
            case .canceled(let after, let record):
                try await db.execute(
                    """
                    UPDATE service SET status = \(bind: after.status), held = 0, updated = \(bind: .timestamp(after.updated))
                    WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                    """)
                let released = try await Self.insertStatusRows(db, [StatusChange(service: after, record: record)])
                return (.canceled(after), released)
            case .requested(let after):
                try await db.execute(
                    """
                    UPDATE service SET cancel_requested = \(bind: after.cancelRequested ? 1 : 0),
                        updated = \(bind: .timestamp(after.updated))
                    WHERE cluster_uuid = \(bind: clusterUUID) AND uuid = \(bind: uuid)
                    """)
                return (.requested(after), .none)
            }
        }
        announceReleases(released)
        return outcome
    }
}
