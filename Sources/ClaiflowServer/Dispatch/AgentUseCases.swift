import ClaiflowCore
import ClaiflowStore
import Foundation
import Logging
import ServiceLifecycle

/// The agent protocol's use cases (handshake, poll, report), shared by the REST and gRPC transports.
public final class AgentUseCases: Sendable {
    /// The longest a poll may park.
    public static let maxWait: Duration = .seconds(60)
    /// How long a poll parks when the agent does not say.
    public static let defaultWait: Duration = .seconds(30)
    /// The most services one poll may return.
    public static let maxLimit = 100
    /// How often a `sent` service may be delivered before it fails.
    public static let maxAttempts = 3

    /// The input limits of the agent protocol, the same over both transports (in characters for
    /// the handshake's texts, in UTF-8 bytes for a report's result and error).
    public enum Limits {
        /// `cluster_uuid` of the handshake.
        public static let clusterUUID = 64
        /// `assertion` (the cluster token's secret) of the handshake.
        public static let assertion = 255
        /// `client_version` and `client_lib_version` of the handshake.
        public static let version = 64
        /// A report's `result`.
        public static let result = HTTPLimits.maxReportSize
        /// A report's `error`.
        public static let error = 1 << 20
    }

    private let store: Store
    let settings: SettingsCache
    let tokens: SessionTokens
    let hub: DispatchHub
    /// The parked cancellation watches of claiflow agents, keyed by cluster (a hub of their own,
    /// so that ``parkedPolls`` counts polls only).
    let cancelWatches: DispatchHub
    let tokenCache: TokenCache
    let keepAlive: KeepAliveBatcher
    let sweeper: DispatchSweeper
    let deliverer: WebhookDeliverer
    let logger: Logger

    init(
        store: Store, settings: SettingsCache, hub: DispatchHub, sweeper: DispatchSweeper, keepAlive: KeepAliveBatcher,
        deliverer: WebhookDeliverer, logger: Logger
    ) {
        self.deliverer = deliverer
        self.store = store
        self.settings = settings
        self.tokens = SessionTokens(settings: settings)
        self.hub = hub
        self.cancelWatches = DispatchHub()
        self.tokenCache = TokenCache(store: store)
        self.keepAlive = keepAlive
        self.sweeper = sweeper
        self.logger = logger
    }

    /// The number of polls parked now.
    public var parkedPolls: Int { hub.parkedCount }

    /// The number of cancellation watches parked now.
    public var parkedCancellationWatches: Int { cancelWatches.parkedCount }

    /// `ClientSession/ExpirationTime`: how long a session (and the leases of its services) lives
    /// without hearing from its agent.
    public var sessionWindow: GoDuration { settings.settings.sessionExpiration }

    // MARK: Handshake

    /// Checks a cluster token and opens a session: returns the session JWT and its lifetime in seconds.
    /// The texts are checked against ``Limits`` (400 naming the field).
    public func authenticate(
        clusterUUID: String, assertion: String, clientVersion: String?, clientLibVersion: String?
    )
        async throws -> (token: String, expiresIn: Int64, claims: SessionClaims)
    {
        try Self.checkText("cluster_uuid", clusterUUID, required: true, maxLength: Limits.clusterUUID)
        try Self.checkText("assertion", assertion, required: true, maxLength: Limits.assertion)
        try Self.checkText("client_version", clientVersion, maxLength: Limits.version)
        try Self.checkText("client_lib_version", clientLibVersion, maxLength: Limits.version)
        guard let t = try await store.clusterToken(hash: Secrets.sha256Hex(assertion)), t.clusterUUID == clusterUUID else {
            throw ClaiflowError(.invalidArgument, "invalid cluster token: no such token for cluster \"\(clusterUUID)\"")
        }
        let now = Timestamp.now()
        guard now < t.expiresAt else { throw ClaiflowError(.invalidArgument, "cluster token was expired") }
        let exp = min(t.expiresAt.unixSeconds, now.unixSeconds + 24 * 3600)
        let claims = SessionClaims(
            clusterUUID: clusterUUID, tokenUUID: t.uuid, uuid: Identifier.generate(), iat: now.unixSeconds, exp: exp,
            clientVersion: clientVersion.flatMap { $0.isEmpty ? nil : $0 }, clientLibVersion: clientLibVersion ?? "",
            tokenHashPrefix: String(t.tokenHash.prefix(12)))
        let jwt = try await tokens.sign(claims)
        let expiry = now.adding(settings.settings.sessionExpiration)
        try await store.upsertSession(
            ClusterSession(
                uuid: claims.uuid, clusterUUID: clusterUUID, clusterTokenUUID: t.uuid, issuedAt: now, expiresAt: expiry,
                clientVersion: claims.clientVersion, clientLibVersion: clientLibVersion, created: now, updated: now))
        keepAlive.touched(claims.uuid, at: now)
        try? await store.publishStatus([
            StatusEvent(topic: .cluster, uuid: clusterUUID, cluster: clusterUUID, status: "connected")
        ])
        return (jwt, exp - now.unixSeconds, claims)
    }

    /// A handshake text within its limit and without NUL (``TextField``); `required` ones must not be empty.
    static func checkText(_ field: String, _ value: String?, required: Bool = false, maxLength: Int) throws(ClaiflowError) {
        let value = value ?? ""
        if required, value.isEmpty { throw ClaiflowError.invalidField(field, "must not be empty") }
        try TextField.check(value, field: field)
        if value.count > maxLength {
            throw ClaiflowError.invalidField(field, "must be at most \(maxLength) characters, got \(value.count)")
        }
    }

    /// The session token of a call: the legacy `x-sudory-client-token` value, overridden by
    /// `authorization: <scheme> <token>` (the scheme word is ignored, as the original did).
    public static func sessionToken(authorization: String?, legacy: String?) throws(ClaiflowError) -> String {
        var token = legacy ?? ""
        if let auth = authorization, let space = auth.firstIndex(of: " ") {
            token = String(auth[auth.index(after: space)...]).trimmingCharacters(in: .whitespaces)
        }
        guard !token.isEmpty else {
            throw ClaiflowError(.unauthenticated, "missing session token: send Authorization: Bearer <token> from the handshake")
        }
        return token
    }

    /// Verifies a session token on every call: signature and expiry, and that its cluster token
    /// still exists, is unexpired and belongs to the claimed cluster. 401 otherwise.
    public func session(bearer: String) async throws -> AgentSession {
        // In a child task: the caller is the connection's task, which lives as long as the connection.
        try await ChildTask.run { try await self.check(try await self.tokens.verify(bearer)) }
    }

    /// The token checks of ``session(bearer:)`` for claims already verified.
    func check(_ claims: SessionClaims) async throws -> AgentSession {
        guard let t = try await tokenCache.token(uuid: claims.tokenUUID) else {
            throw ClaiflowError(.unauthenticated, "the cluster token of this session was deleted")
        }
        guard t.clusterUUID == claims.clusterUUID, t.tokenHash.hasPrefix(claims.tokenHashPrefix) else {
            throw ClaiflowError(.unauthenticated, "the cluster token of this session was changed; authenticate again")
        }
        guard Timestamp.now() < t.expiresAt else {
            throw ClaiflowError(.unauthenticated, "the cluster token of this session has expired")
        }
        return AgentSession(claims: claims, tokenExpires: t.expiresAt)
    }

    // MARK: Poll

    /// Returns up to `limit` services for the session's cluster, claiming them; when there are
    /// none, parks until one is created, the wait passes (then `[]`), or the token is revoked (401).
    ///
    /// A session whose agent does not run the flow language v2 (``AgentVersion``, from the
    /// handshake's `client_lib_version`: the original agent) never receives a service whose flow
    /// needs it; such services wait for an agent that does.
    public func poll(_ session: AgentSession, limit: Int, wait: Duration) async throws -> [ClaiflowCore.Service] {
        let poll = ParkedPoll(agents: self, session: session, limit: limit, wait: wait)
        // When the transport serving this call stops, end the wait now rather than when it
        // times out (only this call: the other transport may still be serving). A handler,
        // not `cancelWhenGracefulShutdown`: that costs a task group and two tasks per parked poll.
        return try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { c in poll.start { c.resume(with: $0) } }
            } onCancel: {
                poll.cancel()
            }
        } onGracefulShutdown: {
            poll.shutdown()
        }
    }

    /// Claims up to `limit` (1 to ``maxLimit``) of the session's cluster's services for the session.
    func claim(for session: AgentSession, limit: Int, runsFlowV2: Bool) async throws -> [StatusChange] {
        let now = Timestamp.now()
        let settings = self.settings.settings
        return try await store.claimServices(
            clusterUUID: session.claims.clusterUUID, sessionUUID: session.claims.uuid, limit: max(1, min(limit, Self.maxLimit)),
            validAfter: now.adding(GoDuration(nanoseconds: -settings.serviceValidityPeriod.nanoseconds)),
            leaseUntil: now.adding(settings.sessionExpiration), now: now, runsFlowV2: runsFlowV2)
    }

    /// After claimed services were handed to their poll: their deliveries and deadlines.
    func handedOver(_ claimed: [StatusChange]) {
        let now = Timestamp.now()
        let settings = self.settings.settings
        // Their `sent` rows enqueued deliveries only for services that name a webhook.
        if claimed.contains(where: { $0.service.webhook != nil }) { deliverer.poke() }
        sweeper.note(deadline: now.adding(settings.sessionExpiration))
        for timeout in Set(claimed.compactMap(\.service.timeout)) {
            sweeper.note(deadline: now.adding(timeout.duration).adding(sweeper.timeoutGrace))
        }
    }

    /// Parks on `hub` for the session's cluster until it is woken, `deadline` passes, the
    /// session's cluster token expires or the transport serving the call shuts down; nil when
    /// no time is left.
    static func park(
        on hub: DispatchHub, _ session: AgentSession, generation: UInt64, until deadline: ContinuousClock.Instant
    ) async -> DispatchHub.Wake? {
        let untilTokenExpiry = Duration.microseconds(session.tokenExpires.microseconds - Timestamp.now().microseconds)
        let park = min(deadline - ContinuousClock.now, untilTokenExpiry)
        if park <= .zero { return nil }
        let (cluster, token) = (session.claims.clusterUUID, session.claims.tokenUUID)
        // When the transport serving this call stops, end the wait now rather than when it
        // times out (only this call: the other transport may still be serving). A handler,
        // not `cancelWhenGracefulShutdown`: that costs a task group and two tasks per parked poll.
        let handle = WaitHandle()
        return await withGracefulShutdownHandler {
            await hub.wait(cluster: cluster, tokenUUID: token, generation: generation, timeout: park, handle: handle)
        } onGracefulShutdown: {
            hub.end(handle)
        }
    }

    /// A wait of 10 s or more, shortened at random by up to a tenth: agents that parked together
    /// (all of them reconnecting after a restart) drift apart instead of coming back in one
    /// burst at every wait's end, which would delay the pickups of that moment (10,000 agents:
    /// docs/benchmarks.md). A poll may always end early with nothing; the agent polls again.
    static func jittered(_ wait: Duration) -> Duration {
        wait >= .seconds(10) ? wait * Double.random(in: 0.9...1.0) : wait
    }

    /// Requeues services claimed for a caller that went away, and wakes the cluster's other polls.
    /// Runs apart from the cancelled caller's task, so that its cancellation cannot stop it.
    func release(_ services: [ClaiflowCore.Service], session: AgentSession) async {
        let (store, hub, logger) = (self.store, self.hub, self.logger)
        let cluster = session.claims.clusterUUID
        await Task {
            do {
                let changes = try await store.releaseClaim(
                    clusterUUID: cluster, sessionUUID: session.claims.uuid, uuids: services.map(\.uuid), now: .now())
                guard !changes.isEmpty else { return }
                hub.wake(clusters: [cluster])
                try? await store.publish([.wake(cluster: cluster)])
            } catch {
                logger.warning(
                    "could not requeue services claimed for a departed poll; they return when their lease lapses",
                    metadata: ["cluster_uuid": .string(cluster), "error": .string("\(error)")])
            }
        }.value
        deliverer.poke()
    }

    // MARK: Cancellation watch

    /// The most service uuids one cancellation watch may name.
    public static let maxWatched = 1000

    /// Which of the services `uuids` (those the agent runs) an operator asked to cancel: at
    /// once when some are, otherwise parks until a cancel is requested on the session's cluster
    /// (on any replica: ``DispatchEvent/cancel(cluster:)``), the wait passes (then `[]`), or
    /// the token is revoked (401). The claiflow agent keeps one open while it runs services, so
    /// that a cancel reaches a running step within milliseconds instead of at its next report.
    public func cancellations(_ session: AgentSession, uuids: [String], wait: Duration) async throws -> [String] {
        guard uuids.count <= Self.maxWatched else {
            throw ClaiflowError.invalidField("uuids", "must name at most \(Self.maxWatched) services, got \(uuids.count)")
        }
        for (i, uuid) in uuids.enumerated() { try Identifier.validate(uuid, field: "uuids[\(i)]") }
        guard !uuids.isEmpty else { return [] }
        let cluster = session.claims.clusterUUID
        let s = settings.settings
        let halfWindow = Duration.nanoseconds(max(s.sessionExpiration.nanoseconds / 2, 100_000_000))
        let deadline = ContinuousClock.now + Self.jittered(min(wait, Self.maxWait, halfWindow))
        let (store, watches) = (self.store, self.cancelWatches)
        var current = session
        while true {
            let generation = watches.generation(of: cluster)
            try Task.checkCancellation()
            // In a child task: this task may park next, keeping its deepest frames meanwhile.
            let found = try await ChildTask.run { try await store.cancelRequested(clusterUUID: cluster, uuids: uuids) }
            if !found.isEmpty { return found }
            guard let wake = await Self.park(on: watches, current, generation: generation, until: deadline) else { return [] }
            switch wake {
            case .work: continue
            case .timeout, .shutdown: return []
            case .revoked:
                tokenCache.invalidate(uuid: current.claims.tokenUUID)
                current = try await check(current.claims)
            }
        }
    }

    // MARK: Report

    /// 0001-01-01T00:00:00Z, the original agent's "no time" (Go's zero `time.Time`).
    static let zeroTime = Timestamp(microseconds: -62_135_596_800_000_000)

    /// Checks a step report as either transport received it; the zero time means "no time".
    /// `sequence`/`status` are nil when the field was missing or not an integer.
    public static func stepReport(
        sequence: Int64?, status: Int64?, result: String?, error: String?, started: Timestamp?, ended: Timestamp?
    ) throws(ClaiflowError) -> StepReportInput {
        guard let seq = sequence, seq >= 0, seq < 10_000 else {
            throw ClaiflowError.invalidField("sequence", "must be the 0-based index of a top-level step")
        }
        guard let st = status, let status = ServiceStatus(rawValue: Int(truncatingIfNeeded: st)),
            [.processing, .succeeded, .failed].contains(status)
        else {
            throw ClaiflowError.invalidField("status", "must be 2 (processing), 4 (succeeded) or 8 (failed)")
        }
        if let result, result.utf8.count > Limits.result {
            throw ClaiflowError.invalidField("result", "must be at most \(Limits.result) bytes")
        }
        if let error, error.utf8.count > Limits.error {
            throw ClaiflowError.invalidField("error", "must be at most \(Limits.error) bytes")
        }
        return StepReportInput(
            sequence: Int(seq), status: status, result: result, error: error, started: started == zeroTime ? nil : started,
            ended: ended == zeroTime ? nil : ended)
    }

    /// Records a step report; returns whether the agent should stop the service (canceled).
    /// 400 when `uuid` is not an identifier.
    public func report(_ session: AgentSession, uuid: String, report: StepReportInput) async throws -> Bool {
        try Identifier.validate(uuid, field: "uuid")
        let s = settings.settings
        keepAlive.touch(session, expiration: s.sessionExpiration)
        let now = Timestamp.now()
        let store = self.store
        // In a child task: the caller is the connection's task, which lives as long as the connection.
        let outcome = try await ChildTask.run {
            try await store.recordReport(
                clusterUUID: session.claims.clusterUUID, uuid: uuid, sessionUUID: session.claims.uuid, report: report,
                leaseUntil: now.adding(s.sessionExpiration), now: now)
        }
        switch outcome {
        case .notFound:
            throw ClaiflowError(.notFound, "service \"\(uuid)\" not found on cluster \"\(session.claims.clusterUUID)\"")
        case .finished(let svc):
            throw ClaiflowError(.conflict, "service \"\(uuid)\" has already finished (\(svc.status.name))")
        case .notHeld:
            throw ClaiflowError(.conflict, "service \"\(uuid)\" is not delivered to this session")
        case .duplicate(_, let cancel):
            return cancel
        case .recorded(let change, let cancel):
            // Its status row enqueued a delivery only if the service names a webhook (a run's
            // end enqueues its own, announced through `Store.onRunProgress`).
            if change.service.webhook != nil { deliverer.poke() }
            if report.sequence >= 0 { sweeper.note(deadline: now.adding(s.sessionExpiration)) }
            return cancel
        }
    }
}
