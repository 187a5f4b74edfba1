import Logging
import Synchronization

/// Holds the agent's one session: authenticates when there is none (one handshake at a time,
/// shared by every caller waiting for it) and forgets it on a 401.
actor SessionKeeper {
    /// The session window the server announced at the last handshake (readable without the actor).
    nonisolated let window = Mutex<Duration?>(nil)
    /// Whether a session is held: set by a handshake, cleared by a refused session or a failed
    /// handshake (readable without the actor, for the agent's `/readyz`).
    nonisolated let holdsSession = Mutex<Bool>(false)
    private let api: AgentAPI
    private let logger: Logger
    private var current: AgentSession?
    private var authenticating = false
    private var lastFailure: AgentCallError?
    private let signal = StateSignal()
    private var failures = 0

    init(api: AgentAPI, logger: Logger) {
        self.api = api
        self.logger = logger
    }

    /// The current session, authenticating first when there is none.
    ///
    /// - Throws: The handshake's error (the caller backs off and retries), or `.cancelled`.
    func session() async throws(AgentCallError) -> AgentSession {
        while true {
            if let current { return current }
            if Task.isCancelled { throw .cancelled }
            if authenticating {
                let seen = signal.generation
                await signal.wait(after: seen)
                if Task.isCancelled { throw .cancelled }
                if let current { return current }
                // Another caller's handshake failed: share its error, unless it was only that
                // caller being canceled (then try again here).
                if !authenticating, let lastFailure {
                    if case .cancelled = lastFailure { continue }
                    throw lastFailure
                }
                continue
            }
            authenticating = true
            do {
                let session = try await api.authenticate()
                current = session
                window.withLock { $0 = session.window }
                holdsSession.withLock { $0 = true }
                lastFailure = nil
                authenticating = false
                signal.notify()
                logger.notice(
                    "authenticated",
                    metadata: ["session_uuid": .string(session.sessionUUID), "failed_attempts": .stringConvertible(failures)])
                failures = 0
                return session
            } catch {
                lastFailure = error
                holdsSession.withLock { $0 = false }
                authenticating = false
                signal.notify()
                failures += 1
                switch error {
                case .cancelled: break
                case .rejected(let status, let message):
                    // A wrong, expired or deleted cluster token: nothing the agent can fix, but an
                    // operator can (new token secret, token renewed), so keep trying.
                    logger.error(
                        "handshake refused: check the cluster uuid and token",
                        metadata: [
                            "status": .stringConvertible(status), "error": .string(message),
                            "attempt": .stringConvertible(failures),
                        ])
                default:
                    logger.warning(
                        "handshake failed",
                        metadata: ["error": .string(error.description), "attempt": .stringConvertible(failures)])
                }
                throw error
            }
        }
    }

    /// Forgets a session the server refused (401), so that the next call authenticates again.
    func invalidate(_ session: AgentSession) {
        guard current?.token == session.token else { return }
        logger.notice(
            "session no longer accepted; authenticating again", metadata: ["session_uuid": .string(session.sessionUUID)])
        current = nil
        holdsSession.withLock { $0 = false }
    }
}
