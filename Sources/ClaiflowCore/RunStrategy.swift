/// How a run rolls out: how many of its clusters run at once, how many may fail before it
/// stops, and how long a released cluster's service may wait for its agent.
public struct RunStrategy: Sendable, Hashable {
    /// At most this many of the run's services are released (queued, sent or processing) at
    /// once; nil: all of them.
    public var maxParallel: RunLimit?
    /// Once more clusters than this have failed or expired, nothing more is released; nil: no limit.
    public var maxFailures: RunLimit?
    /// A released service no agent picked up within this ends `expired`; nil: the service
    /// validity period applies as to any service.
    public var clusterTimeout: GoDuration?

    public init(maxParallel: RunLimit? = nil, maxFailures: RunLimit? = nil, clusterTimeout: GoDuration? = nil) {
        self.maxParallel = maxParallel
        self.maxFailures = maxFailures
        self.clusterTimeout = clusterTimeout
    }

    /// Reads a `strategy` object; errors name the field (`strategy.max_parallel`, …).
    public init(json: JSONValue?) throws(ClaiflowError) {
        self.init()
        guard let json, json != .null else { return }
        guard case .object = json else {
            throw ClaiflowError.invalidField("strategy", "must be an object, got \(json.typeName)")
        }
        if let v = json.field("max_parallel") {
            maxParallel = try RunLimit(json: v, field: "strategy.max_parallel", minimum: 1)
        }
        if let v = json.field("max_failures") {
            maxFailures = try RunLimit(json: v, field: "strategy.max_failures", minimum: 0)
        }
        if let v = json.field("cluster_timeout") {
            guard case .string(let s) = v, let d = GoDuration(parsing: s) else {
                throw ClaiflowError.invalidField(
                    "strategy.cluster_timeout", "must be a duration like \"90s\" or \"5m\", got \(v.serialized())")
            }
            guard d >= .seconds(1), d <= .seconds(366 * 24 * 3600) else {
                throw ClaiflowError.invalidField(
                    "strategy.cluster_timeout", "must be between 1s and 366 days, got \"\(s)\"")
            }
            clusterTimeout = d
        }
    }

    /// As stored and shown: only the fields given.
    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if let maxParallel { o["max_parallel"] = maxParallel.json }
        if let maxFailures { o["max_failures"] = maxFailures.json }
        if let clusterTimeout { o["cluster_timeout"] = .string(clusterTimeout.description) }
        return .object(o)
    }

    /// The limits for a run of `started` clusters (those not skipped).
    public func resolved(started: Int) -> (maxParallel: Int, maxFailures: Int) {
        (
            maxParallel.map { $0.resolve(total: started, roundingUp: true) } ?? max(started, 1),
            maxFailures.map { $0.resolve(total: started, roundingUp: false) } ?? Int.max
        )
    }
}
