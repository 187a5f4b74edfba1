/// A Kubernetes cluster that agents serve.
public struct Cluster: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    public var created: Timestamp
    public var updated: Timestamp
    /// Its labels, which label selectors choose clusters by.
    public var labels: ClusterLabels
    /// Since when it is paused (its agents get no new services, and the validity clock of its
    /// queued services stands still); nil when it is not.
    public var pausedSince: Timestamp?

    public init(
        uuid: String, name: String, summary: String?, created: Timestamp, updated: Timestamp,
        labels: ClusterLabels = ClusterLabels(), pausedSince: Timestamp? = nil
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.created = created
        self.updated = updated
        self.labels = labels
        self.pausedSince = pausedSince
    }

    /// Whether it is paused.
    public var paused: Bool { pausedSince != nil }
}

/// The shared secret an agent presents to obtain a session. Only a SHA-256 hash of the secret is kept.
public struct ClusterToken: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    public var clusterUUID: String
    /// Lowercase hex SHA-256 of the secret.
    public var tokenHash: String
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        uuid: String, name: String, summary: String?, clusterUUID: String, tokenHash: String,
        issuedAt: Timestamp, expiresAt: Timestamp, created: Timestamp, updated: Timestamp
    ) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.clusterUUID = clusterUUID
        self.tokenHash = tokenHash
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.created = created
        self.updated = updated
    }
}

/// An agent's session: written at handshake and kept alive by every poll and report.
public struct ClusterSession: Sendable, Equatable {
    public var uuid: String
    public var clusterUUID: String
    public var clusterTokenUUID: String
    public var issuedAt: Timestamp
    /// Keep-alive deadline: last contact + `ClientSession/ExpirationTime`.
    public var expiresAt: Timestamp
    public var clientVersion: String?
    public var clientLibVersion: String?
    public var created: Timestamp
    public var updated: Timestamp

    public init(
        uuid: String, clusterUUID: String, clusterTokenUUID: String, issuedAt: Timestamp, expiresAt: Timestamp,
        clientVersion: String?, clientLibVersion: String?, created: Timestamp, updated: Timestamp
    ) {
        self.uuid = uuid
        self.clusterUUID = clusterUUID
        self.clusterTokenUUID = clusterTokenUUID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.clientVersion = clientVersion
        self.clientLibVersion = clientLibVersion
        self.created = created
        self.updated = updated
    }
}

/// A server-wide setting stored in the database (four are known; see ``KnownGlobalVariable``).
public struct GlobalVariable: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var summary: String?
    public var value: String
    public var created: Timestamp
    public var updated: Timestamp

    public init(uuid: String, name: String, summary: String?, value: String, created: Timestamp, updated: Timestamp) {
        self.uuid = uuid
        self.name = name
        self.summary = summary
        self.value = value
        self.created = created
        self.updated = updated
    }
}

/// What an operator API key may do.
public enum Role: String, Sendable, CaseIterable, Comparable {
    /// Read-only: GET requests.
    case viewer
    /// Everything except API-key and global-variable management.
    case `operator`
    /// Everything.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (l: Role, r: Role) -> Bool { l.rank < r.rank }
}

/// An operator API key. Only a SHA-256 hash of the key is kept.
public struct APIKey: Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var role: Role
    /// Lowercase hex SHA-256 of the key.
    public var keyHash: String
    /// The first characters of the key, shown in lists so an operator can tell keys apart.
    public var prefix: String
    public var created: Timestamp

    public init(uuid: String, name: String, role: Role, keyHash: String, prefix: String, created: Timestamp) {
        self.uuid = uuid
        self.name = name
        self.role = role
        self.keyHash = keyHash
        self.prefix = prefix
        self.created = created
    }
}
