import ClaiflowCore
import ClaiflowStore
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps agent sessions (and the leases of the services they run, not of those only `sent`)
/// alive without a write per call: a session is refreshed at most every third of
/// `ClientSession/ExpirationTime`, and the refreshes of all sessions are written together, once
/// a second, in one transaction.
final class KeepAliveBatcher: ServiceLifecycle.Service, Sendable {
    private struct Pending {
        var session: AgentSession
        var expiration: GoDuration
    }

    private let store: Store
    private let logger: Logger
    private let lastWrite = Mutex<[String: Timestamp]>([:])
    private let pending = Mutex<[String: Pending]>([:])

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Notes that a session's row was just written (handshake).
    func touched(_ sessionUUID: String, at t: Timestamp) { lastWrite.withLock { $0[sessionUUID] = t } }

    /// Notes a contact of the session; it will be written when due.
    func touch(_ session: AgentSession, expiration: GoDuration) {
        let now = Timestamp.now()
        let due = lastWrite.withLock { w -> Bool in
            guard let last = w[session.claims.uuid] else { return true }
            return now.microseconds - last.microseconds >= expiration.nanoseconds / 3000
        }
        if due { pending.withLock { $0[session.claims.uuid] = Pending(session: session, expiration: expiration) } }
    }

    /// Writes the due refreshes now.
    func flush() async {
        let batch = pending.withLock { p -> [Pending] in
            let b = Array(p.values)
            p.removeAll()
            return b
        }
        guard !batch.isEmpty else { return }
        let now = Timestamp.now()
        do {
            try await store.keepAlive(
                batch.map { p in
                    ClusterSession(
                        uuid: p.session.claims.uuid, clusterUUID: p.session.claims.clusterUUID,
                        clusterTokenUUID: p.session.claims.tokenUUID,
                        issuedAt: Timestamp(microseconds: p.session.claims.iat * 1_000_000), expiresAt: now.adding(p.expiration),
                        clientVersion: p.session.claims.clientVersion, clientLibVersion: p.session.claims.clientLibVersion,
                        created: now, updated: now)
                }, now: now)
            lastWrite.withLock { w in
                if w.count > 200_000 { w.removeAll() }
                for p in batch { w[p.session.claims.uuid] = now }
            }
        } catch {
            logger.warning("session keep-alive failed", metadata: ["error": .string("\(error)")])
            pending.withLock { p in for b in batch where p[b.session.claims.uuid] == nil { p[b.session.claims.uuid] = b } }
        }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                break
            }
            await flush()
        }
        await flush()
    }
}
