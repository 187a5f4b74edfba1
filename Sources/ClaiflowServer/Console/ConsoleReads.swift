import ClaiflowCore
import ClaiflowStore

/// The reads of the console that the API has no use case for: the overview's counts and the
/// agent sessions of a page of clusters (one query each).
struct ConsoleReads: Sendable {
    let store: Store

    /// The overview counts since `since`.
    func overview(now: Timestamp, since: Timestamp) async throws -> ConsoleOverview {
        try await store.consoleOverview(now: now, since: since)
    }

    /// The latest agent session of each cluster.
    func latestSessions(clusterUUIDs: [String]) async throws -> [String: ClusterSession] {
        try await store.latestSessions(clusterUUIDs: clusterUUIDs)
    }
}
