/// How a webhook decides whether to send.
public enum ConditionValidator: Int, Sendable, CaseIterable {
    /// Always send.
    case none = 0
    /// Send when the jq filter, run on the JSON payload, outputs only `true` (at least once).
    case jq = 1

    /// The API name.
    public var name: String { self == .none ? "none" : "jq" }

    /// From the API name, case-insensitive; nil when unknown.
    public init?(name: String) {
        switch name.lowercased() {
        case "none": self = .none
        case "jq": self = .jq
        default: return nil
        }
    }
}

/// A receiver of service status changes.
public struct Webhook: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    public var url: String
    public var method: String
    /// Header name → values (stored encrypted).
    public var headers: [String: [String]]
    /// Request timeout in seconds (0 = the default of 10 s).
    public var timeoutSeconds: Int
    public var conditionValidator: ConditionValidator
    public var conditionFilter: String?
    /// The signing secret, `whsec_` + base64 (stored encrypted).
    public var secret: String
    /// `identity` or `gzip`.
    public var contentEncoding: String
    /// Whether the receiver's TLS certificate is checked (on unless a webhook opts out).
    public var tlsVerify: Bool
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        uuid: String, name: String, summary: String?, url: String, method: String, headers: [String: [String]],
        timeoutSeconds: Int, conditionValidator: ConditionValidator, conditionFilter: String?, secret: String,
        contentEncoding: String, tlsVerify: Bool, created: Timestamp, updated: Timestamp
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.url = url
        self.method = method
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.conditionValidator = conditionValidator
        self.conditionFilter = conditionFilter
        self.secret = secret
        self.contentEncoding = contentEncoding
        self.tlsVerify = tlsVerify
        self.created = created
        self.updated = updated
    }
}

/// The state of one delivery of one event to one webhook.
public enum DeliveryStatus: String, Sendable, CaseIterable {
    case pending, delivered, failed, skipped
}

/// One event to send to a webhook (the outbox row), with its delivery log.
public struct WebhookDelivery: Sendable, Equatable {
    public var uuid: String
    public var webhookUUID: String
    public var clusterUUID: String
    public var serviceUUID: String
    /// The JSON payload, as sent.
    public var payload: String
    public var status: DeliveryStatus
    public var attempts: Int
    public var nextAttempt: Timestamp?
    public var lastResponseCode: Int?
    public var lastError: String?
    public var created: Timestamp
    public var updated: Timestamp
    public var delivered: Timestamp?

    public init(
        uuid: String, webhookUUID: String, clusterUUID: String, serviceUUID: String, payload: String, status: DeliveryStatus,
        attempts: Int, nextAttempt: Timestamp?, lastResponseCode: Int?, lastError: String?, created: Timestamp,
        updated: Timestamp, delivered: Timestamp?
    ) {
        self.uuid = uuid
        self.webhookUUID = webhookUUID
        self.clusterUUID = clusterUUID
        self.serviceUUID = serviceUUID
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.lastResponseCode = lastResponseCode
        self.lastError = lastError
        self.created = created
        self.updated = updated
        self.delivered = delivered
    }
}
