/// The status of a service or of one of its steps (bit values, as the original's).
public enum ServiceStatus: Int, Sendable, CaseIterable, Codable {
    case regist = 0
    case sent = 1
    case processing = 2
    case succeeded = 4
    case failed = 8
    /// Canceled by an operator (new in this implementation).
    case canceled = 16
    /// Not picked up within `ClientConfig/ServiceValidityPeriod` (new in this implementation).
    case expired = 32

    /// Whether nothing will change the service any more.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .canceled, .expired: true
        case .regist, .sent, .processing: false
        }
    }

    /// Whether an agent session holds the service (delivered, under a lease; keep-alives extend only
    /// a `processing` one's, see ``ServiceSweepRule``).
    public var isHeld: Bool {
        switch self {
        case .sent, .processing: true
        case .regist, .succeeded, .failed, .canceled, .expired: false
        }
    }

    /// The name used in messages and filters (`regist`, `sent`, …).
    public var name: String {
        switch self {
        case .regist: "regist"
        case .sent: "sent"
        case .processing: "processing"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .canceled: "canceled"
        case .expired: "expired"
        }
    }

    /// A status from its number or its name (case-insensitive).
    public init?(text: String) {
        if let n = Int(text), let s = ServiceStatus(rawValue: n) {
            self = s
            return
        }
        guard let s = ServiceStatus.allCases.first(where: { $0.name == text.lowercased() }) else { return nil }
        self = s
    }
}

/// The priority of a service: higher is delivered first.
public enum ServicePriority: Int, Sendable, CaseIterable {
    case low = 0
    case middle = 1
    case high = 2
}

/// A task definition: a flow of commands and a JSON Schema for its inputs.
public struct Template: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    /// The flow as JSON text (an array of steps).
    public var flow: String
    /// The JSON Schema of the inputs as JSON text.
    public var inputs: String
    /// `system` templates run with high priority; the original also used `predefined`, `userdefined`.
    public var origin: String
    /// Whether the template ships with claiflow (deleting it needs `force`).
    public var builtin: Bool
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        uuid: String, name: String, summary: String?, flow: String, inputs: String, origin: String, builtin: Bool,
        created: Timestamp, updated: Timestamp
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.flow = flow
        self.inputs = inputs
        self.origin = origin
        self.builtin = builtin
        self.created = created
        self.updated = updated
    }
}

/// One execution request of a flow on one cluster.
public struct Service: Sendable, Equatable {
    public var clusterUUID: String
    public var uuid: String
    public var name: String
    public var summary: String?
    /// The template it was made from ("" for an inline flow).
    public var templateUUID: String
    /// The flow as JSON text.
    public var flow: String
    /// The inputs as JSON text (`null` when none were given).
    public var inputs: String
    public var stepMax: Int
    public var priority: Int
    /// The webhook to notify, if any.
    public var webhook: String?
    /// The current status (the latest status row's).
    public var status: ServiceStatus
    /// The current step (0-based).
    public var stepSeq: Int
    /// Whether an operator asked to cancel it while it was running.
    public var cancelRequested: Bool
    /// The agent session that holds it (while `sent` or `processing`).
    public var sessionUUID: String? = nil
    /// The fleet run it belongs to, if any.
    public var runUUID: String? = nil
    /// How long the agent may run it once delivered (nil: no limit); past it the agent stops it
    /// and reports it failed, and past it plus the server's grace period the server fails it.
    public var timeout: ServiceTimeout? = nil
    /// Whether its flow uses a construct of the flow language v2 (`FlowFeatures` in
    /// ClaiflowFlow), so that only an agent that runs v2 flows may receive it (``AgentVersion``).
    public var needsFlowV2: Bool = false
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        clusterUUID: String, uuid: String, name: String, summary: String?, templateUUID: String, flow: String,
        inputs: String, stepMax: Int, priority: Int, webhook: String?, status: ServiceStatus, stepSeq: Int,
        cancelRequested: Bool, created: Timestamp, updated: Timestamp
    ) {
        self.clusterUUID = clusterUUID
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.templateUUID = templateUUID
        self.flow = flow
        self.inputs = inputs
        self.stepMax = stepMax
        self.priority = priority
        self.webhook = webhook
        self.status = status
        self.stepSeq = stepSeq
        self.cancelRequested = cancelRequested
        self.created = created
        self.updated = updated
    }
}

/// One row of a service's status history (append-only; the latest is the current state).
public struct ServiceStatusRecord: Sendable, Equatable {
    public var stepMax: Int
    public var stepSeq: Int
    public var status: ServiceStatus
    public var started: Timestamp?
    public var ended: Timestamp?
    public var message: String?
    public var created: Timestamp

    public init(
        stepMax: Int, stepSeq: Int, status: ServiceStatus, started: Timestamp?, ended: Timestamp?, message: String?,
        created: Timestamp
    ) {
        self.stepMax = stepMax
        self.stepSeq = stepSeq
        self.status = status
        self.started = started
        self.ended = ended
        self.message = message
        self.created = created
    }
}

/// The result of a service that succeeded.
public struct ServiceResult: Sendable, Equatable {
    /// `1` = saved in the database (the only kind the original wrote).
    public var saveType: Int
    public var result: String
    public var created: Timestamp

    public init(saveType: Int, result: String, created: Timestamp) {
        self.saveType = saveType
        self.result = result
        self.created = created
    }
}

/// A service with its status history and result, as the API shows it.
public struct ServiceDetail: Sendable, Equatable {
    public var service: Service
    public var statuses: [ServiceStatusRecord]
    public var result: ServiceResult?

    public init(service: Service, statuses: [ServiceStatusRecord], result: ServiceResult?) {
        self.service = service
        self.statuses = statuses
        self.result = result
    }
}
