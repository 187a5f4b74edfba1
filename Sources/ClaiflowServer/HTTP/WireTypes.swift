import ClaiflowCore

// The JSON shapes of the operator API (field names as the original's). Domain types stay in
// ClaiflowCore; these are the wire types. Optional fields are omitted when nil.

/// `Cluster`. `labels` is always present (`{}` when none).
struct ClusterWire: Encodable {
    let uuid: String
    let name: String
    let summary: String?
    let labels: [String: String]
    let paused: Bool
    let created: Timestamp
    let updated: Timestamp

    init(_ c: Cluster) {
        uuid = c.uuid
        name = c.name
        summary = c.summary
        labels = c.labels.values
        paused = c.paused
        created = c.created
        updated = c.updated
    }
}

/// `ClusterClientToken`. `token` is present only in the create response and when an update set a new secret.
struct ClusterTokenWire: Encodable {
    let uuid: String
    let name: String
    let summary: String?
    let cluster_uuid: String
    let token: String?
    let issued_at_time: Timestamp
    let expiration_time: Timestamp
    let created: Timestamp
    let updated: Timestamp

    init(_ t: ClusterToken, secret: String? = nil) {
        uuid = t.uuid
        name = t.name
        summary = t.summary
        cluster_uuid = t.clusterUUID
        token = secret
        issued_at_time = t.issuedAt
        expiration_time = t.expiresAt
        created = t.created
        updated = t.updated
    }
}

/// `ClusterClientSession` (the session JWT itself is never stored or shown).
struct SessionWire: Encodable {
    let uuid: String
    let cluster_uuid: String
    let cluster_client_token_uuid: String
    let issued_at_time: Timestamp
    let expiration_time: Timestamp
    let client_version: String?
    let client_lib_version: String?
    let created: Timestamp
    let updated: Timestamp

    init(_ s: ClusterSession) {
        uuid = s.uuid
        cluster_uuid = s.clusterUUID
        cluster_client_token_uuid = s.clusterTokenUUID
        issued_at_time = s.issuedAt
        expiration_time = s.expiresAt
        client_version = s.clientVersion
        client_lib_version = s.clientLibVersion
        created = s.created
        updated = s.updated
    }
}

/// `ClusterClientSessionStatus` (camelCase keys as the original's).
struct AliveWire: Encodable {
    let alive: Bool
    let clientVersion: String?
    let clientLibVersion: String?
}

/// `GlobalVariable`; the signing secret's value is masked.
struct GlobalVariableWire: Encodable {
    static let mask = "********"
    let uuid: String
    let name: String
    let summary: String?
    let value: String
    let created: Timestamp
    let updated: Timestamp

    init(_ g: GlobalVariable) {
        uuid = g.uuid
        name = g.name
        summary = g.summary
        value = KnownGlobalVariable(rawValue: g.uuid)?.isSecret == true ? Self.mask : g.value
        created = g.created
        updated = g.updated
    }
}

/// An operator API key; `key` is present only in the create response.
struct APIKeyWire: Encodable {
    let uuid: String
    let name: String
    let role: String
    let prefix: String
    let key: String?
    let created: Timestamp

    init(_ k: APIKey, key: String? = nil) {
        uuid = k.uuid
        name = k.name
        role = k.role.rawValue
        prefix = k.prefix
        self.key = key
        created = k.created
    }
}
