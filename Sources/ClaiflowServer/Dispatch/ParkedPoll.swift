import ClaiflowCore
import ClaiflowStore
import Synchronization

/// One agent poll, run as steps instead of one suspended task: a claim runs in a short task of
/// its own, and a poll waiting for work is only an entry in the ``DispatchHub`` (a callback and
/// a timer), so that a parked poll holds no task and no async frames (thousands of agents keep
/// one parked each, for up to a minute: docs/benchmarks.md measures the memory each costs).
///
/// Its result is handed to the completion given to ``start(_:)``, exactly once. ``cancel()``
/// (the caller went away) and ``shutdown()`` (the transport serving it stops) end it early.
final class ParkedPoll: Sendable {
    /// Receives the poll's outcome.
    typealias Completion = @Sendable (Result<[ClaiflowCore.Service], any Error>) -> Void

    private struct State {
        var session: AgentSession
        var cancelled = false
        var completion: Completion?
    }

    private let agents: AgentUseCases
    private let limit: Int
    private let runsFlowV2: Bool
    private let deadline: ContinuousClock.Instant
    /// Ends the wait of the poll (cancel or shutdown), even before it parks.
    private let handle = WaitHandle()
    private let state: Mutex<State>

    /// A poll of up to `limit` services for the session's cluster, parking at most `wait`
    /// (and at most ``AgentUseCases/maxWait`` and half the session window, jittered).
    init(agents: AgentUseCases, session: AgentSession, limit: Int, wait: Duration) {
        self.agents = agents
        self.limit = max(1, min(limit, AgentUseCases.maxLimit))
        self.runsFlowV2 = AgentVersion.runsFlowV2(clientLibVersion: session.claims.clientLibVersion)
        let s = agents.settings.settings
        // Parking longer than half the session window would let the session (and the leases of
        // the services the agent is running) lapse while it waits.
        let halfWindow = Duration.nanoseconds(max(s.sessionExpiration.nanoseconds / 2, 100_000_000))
        self.deadline = ContinuousClock.now + AgentUseCases.jittered(min(wait, AgentUseCases.maxWait, halfWindow))
        self.state = Mutex(State(session: session))
    }

    /// Runs the poll; `completion` receives the claimed services (`[]` when the wait passed or
    /// the transport shuts down), a 401 when the token was revoked or expired, or
    /// `CancellationError` when the caller went away before services were handed over.
    func start(_ completion: @escaping Completion) {
        let session = state.withLock { s in
            s.completion = completion
            return s.session
        }
        agents.keepAlive.touch(session, expiration: agents.settings.settings.sessionExpiration)
        next()
    }

    /// The caller went away: a parked poll ends now (with `[]`, which nobody reads), a claim
    /// running puts its services back.
    func cancel() {
        state.withLock { $0.cancelled = true }
        agents.hub.end(handle)
    }

    /// The transport serving the poll stops: it ends now with `[]` (or as soon as it would park).
    func shutdown() {
        agents.hub.end(handle)
    }

    private var session: AgentSession { state.withLock { $0.session } }
    private var isCancelled: Bool { state.withLock { $0.cancelled } }

    private func finish(_ result: Result<[ClaiflowCore.Service], any Error>) {
        let completion = state.withLock { s in
            defer { s.completion = nil }
            return s.completion
        }
        completion?(result)
    }

    /// Looks for work (in a task when the store must be asked) or parks.
    private func next() {
        let cluster = session.claims.clusterUUID
        let generation = agents.hub.generation(of: cluster)
        // A poll whose caller went away claims nothing.
        if isCancelled { return finish(.failure(CancellationError())) }
        if agents.hub.isKnownEmpty(cluster, runsFlowV2: runsFlowV2) { return park(generation: generation) }
        Task { await self.claim(generation: generation) }
    }

    private func claim(generation: UInt64) async {
        let current = session
        do {
            let claimed = try await agents.claim(for: current, limit: limit, runsFlowV2: runsFlowV2)
            if !claimed.isEmpty {
                Failpoint.exitAfterClaimCommit.trigger()
                if isCancelled {
                    // The caller left while the claim ran: put the services back now.
                    await agents.release(claimed.map(\.service), session: current)
                    return finish(.failure(CancellationError()))
                }
                agents.handedOver(claimed)
                return finish(.success(claimed.map(\.service)))
            }
            agents.hub.markEmpty(current.claims.clusterUUID, generation: generation, runsFlowV2: runsFlowV2)
            park(generation: generation)
        } catch {
            finish(.failure(error))
        }
    }

    /// Parks on the hub until it is woken, the deadline passes, the session's cluster token
    /// expires, or the poll is cancelled or shut down.
    private func park(generation: UInt64) {
        let current = session
        let untilTokenExpiry = Duration.microseconds(current.tokenExpires.microseconds - Timestamp.now().microseconds)
        let wait = min(deadline - ContinuousClock.now, untilTokenExpiry)
        if wait <= .zero { return finish(.success([])) }
        agents.hub.park(
            cluster: current.claims.clusterUUID, tokenUUID: current.claims.tokenUUID, generation: generation, timeout: wait,
            handle: handle
        ) { wake in self.woken(wake) }
    }

    private func woken(_ wake: DispatchHub.Wake) {
        switch wake {
        case .work:
            next()
        case .timeout, .shutdown:
            if Timestamp.now() >= session.tokenExpires {
                finish(.failure(ClaiflowError(.unauthenticated, "the cluster token of this session has expired")))
            } else {
                finish(.success([]))
            }
        case .revoked:
            let claims = session.claims
            agents.tokenCache.invalidate(uuid: claims.tokenUUID)
            Task {
                do {
                    let renewed = try await self.agents.check(claims)
                    self.state.withLock { $0.session = renewed }
                    self.next()
                } catch {
                    self.finish(.failure(error))
                }
            }
        }
    }
}
