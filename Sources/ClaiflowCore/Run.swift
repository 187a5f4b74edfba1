/// A fleet run: one template or flow run on a set of clusters resolved once at creation, in
/// waves of at most `max_parallel`, stopped by a failure threshold. Each cluster gets one
/// ordinary service (the same `service_uuid` on every cluster) carrying the run's uuid.
public struct Run: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    /// The template ("" for an inline flow).
    public var templateUUID: String
    /// The label selector the target was chosen by, or nil when clusters were named.
    public var selector: String?
    public var strategy: RunStrategy
    /// The webhook told once when the run ends.
    public var webhook: String?
    public var includePaused: Bool
    /// The uuid of the run's service on each of its clusters.
    public var serviceUUID: String
    public var progress: RunProgress
    public var created: Timestamp
    public var updated: Timestamp
    public var ended: Timestamp?

    public init(
        uuid: String, name: String, summary: String?, templateUUID: String, selector: String?, strategy: RunStrategy,
        webhook: String?, includePaused: Bool, serviceUUID: String, progress: RunProgress, created: Timestamp,
        updated: Timestamp, ended: Timestamp?
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.templateUUID = templateUUID
        self.selector = selector
        self.strategy = strategy
        self.webhook = webhook
        self.includePaused = includePaused
        self.serviceUUID = serviceUUID
        self.progress = progress
        self.created = created
        self.updated = updated
        self.ended = ended
    }

    /// The run as the API shows it (and its webhook receives it). With `clusters` the counts
    /// are those of the clusters; without (lists), `pending` counts held services and `running`
    /// released ones that have not finished (queued for their agent or running).
    public func json(clusters: [RunCluster]?) -> JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.rfc3339) } ?? .null }
        var counts: [String: Int] = [:]
        for s in RunCluster.Status.allCases { counts[s.rawValue] = 0 }
        if let clusters {
            for c in clusters { counts[c.status.rawValue, default: 0] += 1 }
        } else {
            let p = progress
            counts = [
                "pending": p.held, "running": p.active, "succeeded": p.succeeded, "failed": p.failed,
                "expired": p.expired, "canceled": p.canceled, "skipped": p.skipped,
            ]
        }
        var countsJSON = counts.mapValues { JSONValue.integer(Int64($0)) }
        countsJSON["total"] = .integer(Int64(progress.total + progress.skipped))
        var o: [String: JSONValue] = [
            "uuid": .string(uuid), "name": .string(name), "summary": summary.map { .string($0) } ?? .null,
            "state": .string(progress.state.rawValue), "template_uuid": .string(templateUUID),
            "selector": selector.map { .string($0) } ?? .null, "strategy": strategy.json,
            "webhook": webhook.map { .string($0) } ?? .null, "include_paused": .bool(includePaused),
            "service_uuid": .string(serviceUUID), "created": time(created), "updated": time(updated),
            "ended": time(ended), "counts": .object(countsJSON),
        ]
        if let clusters {
            o["clusters"] = .array(
                clusters.map { c in
                    .object([
                        "cluster_uuid": .string(c.clusterUUID), "cluster_name": .string(c.clusterName),
                        "service_uuid": c.status == .skipped ? .null : .string(serviceUUID),
                        "status": .string(c.status.rawValue), "message": c.message.map { .string($0) } ?? .null,
                        "started": time(c.started), "ended": time(c.ended),
                    ])
                })
        }
        return .object(o)
    }
}
