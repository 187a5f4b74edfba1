import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore

/// The operator API's use cases: one function per operation, each validating what the store
/// cannot and running one store transaction. HTTP handlers only decode input and call these.
public struct OperatorUseCases: Sendable {
    let store: Store
    /// The parsed global variables.
    public let settings: SettingsCache
    public let authenticator: APIKeyAuthenticator
    let events: DispatchEvents?

    init(store: Store, settings: SettingsCache, authenticator: APIKeyAuthenticator, events: DispatchEvents? = nil) {
        self.store = store
        self.settings = settings
        self.authenticator = authenticator
        self.events = events
    }

    /// Whether the database answers a trivial query (`/healthz`).
    public func checkDatabase() async throws {
        _ = try await store.database.read { db in try await db.query("SELECT 1 AS ok") }
    }

    // MARK: Clusters

    /// The clusters a list query and a label selector choose (both must hold). A run resolves
    /// its target set through this.
    public func clusters(_ query: ListQuery, selector: LabelSelector? = nil) async throws -> [Cluster] {
        try await store.clusters(query, selector: selector)
    }

    /// One cluster.
    public func cluster(uuid: String) async throws -> Cluster {
        guard let c = try await store.cluster(uuid: uuid) else { throw ClaiflowError.notFound("cluster", uuid) }
        return c
    }

    /// Creates a cluster with its labels, paused if asked; the uuid is generated unless given.
    public func createCluster(
        uuid: String?, name: String, summary: String?, labels: ClusterLabels = ClusterLabels(), paused: Bool = false
    ) async throws -> Cluster {
        let now = Timestamp.now()
        let c = Cluster(
            uuid: uuid ?? Identifier.generate(), name: name, summary: summary, created: now, updated: now, labels: labels,
            pausedSince: paused ? now : nil)
        try await store.insertCluster(c)  // its `created` (or `paused`) event is published after the commit
        return c
    }

    /// Changes a cluster's name, summary, labels (replaced as a whole) and/or paused state.
    /// Resuming a paused cluster wakes its parked agents (here and in the other replicas), so its
    /// queued services go out at once.
    public func updateCluster(uuid: String, changes: ClusterChanges) async throws -> Cluster {
        guard !changes.isEmpty else {
            throw ClaiflowError(.invalidArgument, "nothing to change: give name, summary, labels and/or paused")
        }
        guard let u = try await store.updateCluster(uuid: uuid, changes: changes, now: .now()) else {
            throw ClaiflowError.notFound("cluster", uuid)
        }
        if u.resumed { await events?.clusterResumed(uuid) }
        await events?.clusterChanged(uuid, u.resumed ? "resumed" : u.cluster.paused ? "paused" : "updated")
        return u.cluster
    }

    /// Deletes a cluster with everything that belongs to it.
    public func deleteCluster(uuid: String) async throws {
        guard try await store.deleteCluster(uuid: uuid) else { throw ClaiflowError.notFound("cluster", uuid) }
        await events?.clusterDeleted(uuid)
        await events?.clusterChanged(uuid, "deleted")
    }

    /// Whether an agent of the cluster is connected, with the versions it reported.
    public func alive(clusterUUID: String) async throws -> (alive: Bool, session: ClusterSession?) {
        guard let s = try await store.latestSession(clusterUUID: clusterUUID) else { return (false, nil) }
        return (Timestamp.now() < s.expiresAt, s)
    }

    // MARK: Cluster tokens

    /// The cluster tokens a list query selects.
    public func clusterTokens(_ query: ListQuery) async throws -> [ClusterToken] { try await store.clusterTokens(query) }

    /// One cluster token.
    public func clusterToken(uuid: String) async throws -> ClusterToken {
        guard let t = try await store.clusterToken(uuid: uuid) else { throw ClaiflowError.notFound("cluster token", uuid) }
        return t
    }

    /// The expiration of a token created or refreshed now: now + `ClusterToken/ExpirationTime`.
    func tokenExpiration(from now: Timestamp) -> Timestamp {
        now.adding(settings.settings.clusterTokenExpiration)
    }

    /// Creates a cluster token. Returns the token and its secret (generated unless given).
    public func createClusterToken(
        uuid: String?, name: String, summary: String?, clusterUUID: String, secret: String?
    )
        async throws -> (ClusterToken, String)
    {
        let now = Timestamp.now()
        let secret = secret ?? Secrets.newClusterToken()
        let t = ClusterToken(
            uuid: uuid ?? Identifier.generate(), name: name, summary: summary, clusterUUID: clusterUUID,
            tokenHash: Secrets.sha256Hex(secret), issuedAt: now, expiresAt: tokenExpiration(from: now), created: now,
            updated: now)
        try await store.insertClusterToken(t)
        return (t, secret)
    }

    /// Updates a token; a new secret is hashed.
    public func updateClusterToken(
        uuid: String, name: String?, summary: String?, secret: String?, issuedAt: Timestamp?, expiresAt: Timestamp?
    ) async throws -> ClusterToken {
        guard name != nil || summary != nil || secret != nil || issuedAt != nil || expiresAt != nil else {
            throw ClaiflowError(
                .invalidArgument, "nothing to change: give name, summary, token, issued_at_time and/or expiration_time")
        }
        let changes = ClusterTokenChanges(
            name: name, summary: summary, tokenHash: secret.map(Secrets.sha256Hex), issuedAt: issuedAt, expiresAt: expiresAt)
        guard let t = try await store.updateClusterToken(uuid: uuid, changes: changes, now: .now()) else {
            throw ClaiflowError.notFound("cluster token", uuid)
        }
        await events?.tokenChanged(uuid)
        return t
    }

    /// Sets a token's expiration to now + `ClusterToken/ExpirationTime`.
    public func refreshClusterToken(uuid: String) async throws -> ClusterToken {
        let now = Timestamp.now()
        guard
            let t = try await store.updateClusterToken(
                uuid: uuid, changes: ClusterTokenChanges(expiresAt: tokenExpiration(from: now)), now: now)
        else { throw ClaiflowError.notFound("cluster token", uuid) }
        return t
    }

    /// Expires a token now: agents using it stop at their next call.
    public func expireClusterToken(uuid: String) async throws -> ClusterToken {
        let now = Timestamp.now()
        guard let t = try await store.updateClusterToken(uuid: uuid, changes: ClusterTokenChanges(expiresAt: now), now: now)
        else { throw ClaiflowError.notFound("cluster token", uuid) }
        await events?.tokenChanged(uuid)
        return t
    }

    /// Deletes a token and its sessions.
    public func deleteClusterToken(uuid: String) async throws {
        guard try await store.deleteClusterToken(uuid: uuid) else { throw ClaiflowError.notFound("cluster token", uuid) }
        await events?.tokenChanged(uuid)
    }

    // MARK: Sessions

    /// The sessions a list query selects.
    public func sessions(_ query: ListQuery) async throws -> [ClusterSession] { try await store.sessions(query) }

    /// One session.
    public func session(uuid: String) async throws -> ClusterSession {
        guard let s = try await store.session(uuid: uuid) else { throw ClaiflowError.notFound("session", uuid) }
        return s
    }

    /// Deletes a session.
    public func deleteSession(uuid: String) async throws {
        guard try await store.deleteSession(uuid: uuid) else { throw ClaiflowError.notFound("session", uuid) }
    }

    // MARK: Global variables

    /// The global variables a list query selects.
    public func globalVariables(_ query: ListQuery) async throws -> [GlobalVariable] { try await store.globalVariables(query) }

    /// One global variable.
    public func globalVariable(uuid: String) async throws -> GlobalVariable {
        guard let g = try await store.globalVariable(uuid: uuid) else { throw ClaiflowError.notFound("global variable", uuid) }
        return g
    }

    /// Sets a global variable after checking its format; applies at once in this process.
    public func updateGlobalVariable(uuid: String, value: String) async throws -> GlobalVariable {
        if let known = KnownGlobalVariable(rawValue: uuid), let reason = known.validate(value) {
            throw ClaiflowError.invalidField("value", "invalid value for \(known.name): \(reason)")
        }
        guard let g = try await store.updateGlobalVariable(uuid: uuid, value: value, now: .now()) else {
            throw ClaiflowError.notFound("global variable", uuid)
        }
        try await settings.reload(from: store)
        return g
    }

    // MARK: API keys

    /// The API keys a list query selects.
    public func apiKeys(_ query: ListQuery) async throws -> [APIKey] { try await store.apiKeys(query) }

    /// Creates an API key; returns it with the key text, which is shown only now.
    public func createAPIKey(name: String, role: Role) async throws -> (APIKey, String) {
        let (k, key) = APIKeyIssuer.newKey(name: name, role: role)
        try await store.insertAPIKey(k)
        authenticator.forgetUnknownKeys()
        return (k, key)
    }

    /// Deletes an API key; it stops working at once in this process.
    /// Refuses to delete the last admin key when no admin token is configured (nobody could
    /// manage keys afterwards).
    public func deleteAPIKey(uuid: String) async throws {
        if !authenticator.hasConfiguredAdminToken {
            let admins = try await store.apiKeys(ListQuery(condition: .compare(column: "role", op: .eq, value: .text("admin"))))
            if admins.count == 1, admins.first?.uuid == uuid {
                throw ClaiflowError(
                    .conflict, "api key \"\(uuid)\" is the last admin key; create another admin key first")
            }
        }
        guard try await store.deleteAPIKey(uuid: uuid) else { throw ClaiflowError.notFound("api key", uuid) }
        authenticator.invalidate(keyUUID: uuid)
    }
}
