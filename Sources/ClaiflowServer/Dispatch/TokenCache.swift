import ClaiflowCore
import ClaiflowStore
import Synchronization

/// Cluster tokens by uuid, cached for a moment (every agent call checks its token); a change
/// made through any replica drops the entry at once (events).
final class TokenCache: Sendable {
    static let ttl: Duration = .seconds(2)
    private let store: Store
    private let entries = Mutex<[String: (token: ClusterToken?, until: ContinuousClock.Instant)]>([:])

    init(store: Store) { self.store = store }

    func token(uuid: String) async throws -> ClusterToken? {
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[uuid] }), hit.until > now { return hit.token }
        let t = try await store.clusterToken(uuid: uuid)
        entries.withLock { e in
            if e.count > 100_000 { e.removeAll() }
            e[uuid] = (t, now + Self.ttl)
        }
        return t
    }

    func invalidate(uuid: String) { entries.withLock { _ = $0.removeValue(forKey: uuid) } }
    func invalidateAll() { entries.withLock { $0.removeAll() } }
}
