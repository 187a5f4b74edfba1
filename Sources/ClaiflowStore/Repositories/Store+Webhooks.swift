import ClaiflowCore
import ClaiflowQuery

/// The fields of a webhook an update may change; nil leaves a field as it is. `headers` and
/// `secret` are the stored (encrypted) texts.
public struct WebhookChanges: Sendable {
    public var name: String?
    public var summary: String?
    public var url: String?
    public var method: String?
    public var headers: String?
    public var timeoutSeconds: Int?
    public var conditionValidator: ConditionValidator?
    public var conditionFilter: String?
    public var secret: String?
    public var contentEncoding: String?
    public var tlsVerify: Bool?

    public init() {}

    /// Whether nothing would change.
    public var isEmpty: Bool {
        name == nil && summary == nil && url == nil && method == nil && headers == nil && timeoutSeconds == nil
            && conditionValidator == nil && conditionFilter == nil && secret == nil && contentEncoding == nil && tlsVerify == nil
    }
}

/// A stored webhook row: the record with its headers and secret still encrypted.
public struct StoredWebhook: Sendable, Equatable {
    public var webhook: Webhook
    public var sealedHeaders: String
    public var sealedSecret: String
}

extension Store {
    static func storedWebhook(_ r: SQLRow) throws -> StoredWebhook {
        let w = Webhook(
            uuid: try r.text("uuid"), name: try r.text("name"), summary: r.optionalText("summary"), url: try r.text("url"),
            method: try r.text("method"), headers: [:], timeoutSeconds: Int(try r.integer("timeout")),
            conditionValidator: ConditionValidator(rawValue: Int(try r.integer("condition_validator"))) ?? .none,
            conditionFilter: r.optionalText("condition_filter"), secret: "", contentEncoding: try r.text("content_encoding"),
            tlsVerify: try r.integer("tls_verify") != 0, created: try r.timestamp("created"), updated: try r.timestamp("updated"))
        return StoredWebhook(webhook: w, sealedHeaders: try r.text("headers"), sealedSecret: try r.text("secret"))
    }

    static func delivery(_ r: SQLRow) throws -> WebhookDelivery {
        WebhookDelivery(
            uuid: try r.text("uuid"), webhookUUID: try r.text("webhook_uuid"), clusterUUID: try r.text("cluster_uuid"),
            serviceUUID: try r.text("service_uuid"), payload: try r.text("payload"),
            status: DeliveryStatus(rawValue: try r.text("status")) ?? .pending, attempts: Int(try r.integer("attempts")),
            nextAttempt: r.optionalTimestamp("next_attempt"), lastResponseCode: r.optionalInteger("last_code").map { Int($0) },
            lastError: r.optionalText("last_error"), created: try r.timestamp("created"), updated: try r.timestamp("updated"),
            delivered: r.optionalTimestamp("delivered"))
    }

    /// The installation's encryption key (base64), created at the first call when `generate` gives one.
    /// Safe when several replicas start at once: the first insert wins (`ON CONFLICT DO NOTHING`
    /// waits for a concurrent insert to commit) and every caller returns the stored key.
    public func installationKey(generate: @Sendable () -> String) async throws -> String {
        try await write("installation.key") { db in
            if let row = try await db.first("SELECT value FROM installation_key WHERE id = 1") { return try row.text("value") }
            try await db.execute(
                """
                INSERT INTO installation_key (id, value, created) VALUES (1, \(bind: generate()), \(bind: .timestamp(.now())))
                ON CONFLICT (id) DO NOTHING
                """)
            guard let row = try await db.first("SELECT value FROM installation_key WHERE id = 1") else {
                throw StoreError.corrupt("installation_key has no row after inserting it")
            }
            return try row.text("value")
        }
    }

    /// Inserts a webhook; 409 when the uuid exists.
    public func insertWebhook(_ w: Webhook, sealedHeaders: String, sealedSecret: String) async throws {
        do {
            try await write("webhook.insert") { db in
                try await db.execute(
                    """
                    INSERT INTO webhook (uuid, name, summary, url, method, headers, timeout, condition_validator, condition_filter,
                        secret, content_encoding, tls_verify, created, updated)
                    VALUES (\(bind: w.uuid), \(bind: w.name), \(bind: w.summary), \(bind: w.url), \(bind: w.method), \(bind: sealedHeaders),
                        \(bind: w.timeoutSeconds), \(bind: w.conditionValidator.rawValue), \(bind: w.conditionFilter), \(bind: sealedSecret),
                        \(bind: w.contentEncoding), \(bind: w.tlsVerify ? 1 : 0), \(bind: .timestamp(w.created)), \(bind: .timestamp(w.updated)))
                    """)
            }
        } catch StoreError.uniqueViolation {
            throw ClaiflowError(.conflict, "webhook \"\(w.uuid)\" already exists")
        }
    }

    /// Lists webhooks.
    public func webhooks(_ query: ListQuery) async throws -> [StoredWebhook] {
        try await list("webhook.list", table: "webhook", query: query, map: Self.storedWebhook)
    }

    /// One webhook, or nil.
    public func webhook(uuid: String) async throws -> StoredWebhook? {
        try await read("webhook.get") { db in
            try await db.first("SELECT * FROM webhook WHERE uuid = \(bind: uuid)").map(Self.storedWebhook)
        }
    }

    /// Applies changes; nil when the webhook does not exist.
    public func updateWebhook(uuid: String, changes c: WebhookChanges, now: Timestamp) async throws -> StoredWebhook? {
        try await write("webhook.update") { db in
            try await db.first(
                """
                UPDATE webhook SET name = COALESCE(\(bind: c.name), name), summary = COALESCE(\(bind: c.summary), summary),
                    url = COALESCE(\(bind: c.url), url), method = COALESCE(\(bind: c.method), method),
                    headers = COALESCE(\(bind: c.headers), headers),
                    timeout = COALESCE(\(bind: c.timeoutSeconds.map { .integer(Int64($0)) } ?? .null), timeout),
                    condition_validator = COALESCE(\(bind: c.conditionValidator.map { .integer(Int64($0.rawValue)) } ?? .null), condition_validator),
                    condition_filter = COALESCE(\(bind: c.conditionFilter), condition_filter),
                    secret = COALESCE(\(bind: c.secret), secret), content_encoding = COALESCE(\(bind: c.contentEncoding), content_encoding),
                    tls_verify = COALESCE(\(bind: c.tlsVerify.map { .integer($0 ? 1 : 0) } ?? .null), tls_verify),
                    updated = \(bind: .timestamp(now))
                WHERE uuid = \(bind: uuid) RETURNING *
                """
            ).map(Self.storedWebhook)
        }
    }

    /// Deletes a webhook and its delivery log; false when it did not exist.
    public func deleteWebhook(uuid: String) async throws -> Bool {
        try await write("webhook.delete") { db in
            try await db.execute("DELETE FROM webhook_delivery WHERE webhook_uuid = \(bind: uuid)")
            return try await db.execute("DELETE FROM webhook WHERE uuid = \(bind: uuid)") > 0
        }
    }

    /// The deliveries of a webhook (its log).
    public func deliveries(webhookUUID: String, query: ListQuery) async throws -> [WebhookDelivery] {
        try await list(
            "webhook.deliveries", table: "webhook_delivery", query: query,
            extra: "webhook_uuid = \(bind: webhookUUID)", newestFirst: true, map: Self.delivery)
    }

    /// The newest delivery of each of these webhooks (none for a webhook without any), in one
    /// statement of one `ORDER BY id DESC LIMIT 1` per webhook, each with its own value: a
    /// correlated subquery would get one generic plan, and PostgreSQL's for a log dominated by
    /// one webhook walks the primary key backwards through all of it for each webhook without
    /// deliveries (1.5 s for 50 webhooks beside one with 100,000 deliveries).
    public func latestDeliveries(webhookUUIDs: [String]) async throws -> [String: WebhookDelivery] {
        var out: [String: WebhookDelivery] = [:]
        // SQLite takes at most 500 terms in a compound SELECT.
        for start in stride(from: 0, to: webhookUUIDs.count, by: 200) {
            let sql = SQL.join(
                webhookUUIDs[start..<min(start + 200, webhookUUIDs.count)].enumerated().map { (i, uuid) -> SQL in
                    """
                    SELECT * FROM (SELECT * FROM webhook_delivery WHERE webhook_uuid = \(bind: uuid) ORDER BY id DESC LIMIT 1) \
                    AS latest\(raw: String(i))
                    """
                }, separator: " UNION ALL ")
            let rows = try await read("webhook.latest_deliveries") { db in try await db.query(sql).map(Self.delivery) }
            for d in rows { out[d.webhookUUID] = d }
        }
        return out
    }

    // MARK: Outbox

    /// The webhook payload of a status change (the original's fields; an empty result is null,
    /// a JSON result embedded as JSON, times RFC 3339 UTC).
    static func payload(_ c: StatusChange) -> String {
        let s = c.service
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.rfc3339) } ?? .null }
        var result: JSONValue = .null
        if let text = c.result?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            result = (try? JSONValue.parse(text)) ?? .string(text)
        }
        let payload: JSONValue = .object([
            "template_uuid": .string(s.templateUUID), "cluster_uuid": .string(s.clusterUUID), "service_uuid": .string(s.uuid),
            "service_name": .string(s.name), "inputs": (try? JSONValue.parse(s.inputs)) ?? .null,
            "assigned_client_uuid": s.sessionUUID.map { .string($0) } ?? .null,
            "status": .integer(Int64(c.record.status.rawValue)), "status_description": .string(c.record.status.name),
            "step_count": .integer(Int64(s.stepMax)), "step_position": .integer(Int64(c.record.stepSeq)),
            "step_status": .integer(Int64((c.reported ?? c.record.status).rawValue)), "step_started": time(c.record.started),
            "step_ended": time(c.record.ended), "result": result, "error": c.record.message.map { .string($0) } ?? .null,
            "webhook": s.webhook.map { .string($0) } ?? .null, "created": .string(c.record.created.rfc3339),
        ])
        return payload.serialized()
    }

    /// Writes one pending delivery per status change of a service that names an existing
    /// webhook — in the transaction of the change (transactional outbox).
    static func enqueueDeliveries(_ db: any SQLExecutor, _ changes: [StatusChange]) async throws {
        let named = changes.filter { $0.service.webhook != nil }
        guard !named.isEmpty else { return }
        let ids = Array(Set(named.compactMap(\.service.webhook)))
        let existing = Set(
            try await db.query(
                "SELECT uuid FROM webhook WHERE uuid IN (" + SQL.join(ids.map { "\(bind: $0)" }, separator: ", ") + ")"
            ).map { try $0.text("uuid") })
        for c in named {
            guard let hook = c.service.webhook, existing.contains(hook) else { continue }
            let now = c.record.created
            try await db.execute(
                """
                INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, attempts,
                    next_attempt, created, updated)
                VALUES (\(bind: Identifier.generate()), \(bind: hook), \(bind: c.service.clusterUUID), \(bind: c.service.uuid),
                    \(bind: payload(c)), 'pending', 0, \(bind: .timestamp(now)), \(bind: .timestamp(now)), \(bind: .timestamp(now)))
                """)
        }
    }

    /// Claims due deliveries (exclusive across replicas): at most `limit`, only the oldest pending
    /// one of each (webhook, service) so that a service's events arrive in order, none of a
    /// webhook in `excluding` (its receiver is being backed off, or is at its limit), and at most
    /// `room[webhook] ?? perWebhook` of one webhook — so that one webhook cannot take every slot.
    public func claimDeliveries(
        limit: Int, now: Timestamp, leaseUntil: Timestamp, excluding: Set<String> = [], perWebhook: Int = .max,
        room: [String: Int] = [:]
    ) async throws -> [WebhookDelivery] {
        guard limit > 0 else { return [] }
        let skipLocked: SQL = dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let excluded: SQL =
            excluding.isEmpty
            ? ""
            : " AND d.webhook_uuid NOT IN ("
                + SQL.join(excluding.sorted().map { (uuid: String) -> SQL in "\(bind: uuid)" }, separator: ", ") + ")"
        // Candidates beyond `limit`, so that a webhook over its share does not starve the others.
        let candidates = limit * 4
        return try await write("webhook.claim") { db in
            let rows = try await db.query(
                """
                SELECT d.id, d.webhook_uuid FROM webhook_delivery d WHERE d.status = 'pending'
                    AND d.next_attempt <= \(bind: .timestamp(now))
                    AND (d.lease_until IS NULL OR d.lease_until < \(bind: .timestamp(now)))\(excluded)
                    AND NOT EXISTS (SELECT 1 FROM webhook_delivery e WHERE e.webhook_uuid = d.webhook_uuid
                        AND e.cluster_uuid = d.cluster_uuid AND e.service_uuid = d.service_uuid AND e.status = 'pending'
                        AND e.id < d.id)
                ORDER BY d.id LIMIT \(bind: candidates)\(skipLocked)
                """)
            var left = room
            var ids: [SQL] = []
            for row in rows where ids.count < limit {
                let webhook = try row.text("webhook_uuid")
                let free = left[webhook] ?? perWebhook
                guard free > 0 else { continue }
                left[webhook] = free - 1
                ids.append("\(bind: try row.integer("id"))")
            }
            guard !ids.isEmpty else { return [] }
            return try await db.query(
                """
                UPDATE webhook_delivery SET lease_until = \(bind: .timestamp(leaseUntil)), attempts = attempts + 1,
                    updated = \(bind: .timestamp(now))
                WHERE id IN (\(SQL.join(ids, separator: ", ")))
                RETURNING *
                """
            ).map(Self.delivery).sorted { $0.created < $1.created }
        }
    }

    /// Records the outcome of an attempt: `delivered`, `skipped`, `failed`, or still `pending`
    /// with the next attempt time.
    public func finishDelivery(
        uuid: String, status: DeliveryStatus, code: Int?, error: String?, nextAttempt: Timestamp?, now: Timestamp
    ) async throws {
        try await write("webhook.finish") { db in
            try await db.execute(
                """
                UPDATE webhook_delivery SET status = \(bind: status.rawValue), last_code = \(bind: code.map { .integer(Int64($0)) } ?? .null),
                    last_error = \(bind: error), next_attempt = \(bind: nextAttempt.map { .timestamp($0) } ?? .null), lease_until = NULL,
                    delivered = \(bind: status == .delivered ? .timestamp(now) : .null), updated = \(bind: .timestamp(now))
                WHERE uuid = \(bind: uuid)
                """)
        }
    }

    /// What a manual redelivery did.
    public enum RedeliverOutcome: Sendable {
        case queued(WebhookDelivery)
        case notFound
        /// An attempt is being sent right now; queueing it again would send it twice at once.
        case inFlight
    }

    /// Queues a delivery again (manual redelivery): pending, due now, attempts reset, unless an
    /// attempt is being sent at this moment.
    public func redeliver(webhookUUID: String, deliveryUUID: String, now: Timestamp) async throws -> RedeliverOutcome {
        try await write("webhook.redeliver") { db in
            if let d = try await db.first(
                """
                UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_attempt = \(bind: .timestamp(now)),
                    lease_until = NULL, updated = \(bind: .timestamp(now))
                WHERE uuid = \(bind: deliveryUUID) AND webhook_uuid = \(bind: webhookUUID)
                    AND NOT (status = 'pending' AND lease_until IS NOT NULL AND lease_until > \(bind: .timestamp(now)))
                RETURNING *
                """
            ).map(Self.delivery) {
                return .queued(d)
            }
            let exists = try await db.first(
                "SELECT id FROM webhook_delivery WHERE uuid = \(bind: deliveryUUID) AND webhook_uuid = \(bind: webhookUUID)")
            return exists == nil ? .notFound : .inFlight
        }
    }

    /// When the next pending delivery that nobody is sending is due, and how many are pending.
    /// (A delivery being sent is leased; its sender wakes the others when it is done.)
    public func deliveryQueue(now: Timestamp = .now()) async throws -> (next: Timestamp?, depth: Int) {
        try await read("webhook.queue") { db in
            let row = try await db.first(
                """
                SELECT MIN(CASE WHEN lease_until IS NULL OR lease_until < \(bind: .timestamp(now)) THEN next_attempt END) AS t,
                    COUNT(*) AS n
                FROM webhook_delivery WHERE status = 'pending'
                """)
            return (row?.optionalTimestamp("t"), Int(row?.optionalInteger("n") ?? 0))
        }
    }
}
