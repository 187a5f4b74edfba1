/// One wave of a fleet run as an operator follows it: the started clusters taken in target
/// order, `max_parallel` at a time. The store releases held services one by one as slots free
/// up (a sliding window), so wave `n + 1` can start before wave `n` has finished; a wave is
/// `done` when all its clusters ended, `inProgress` once one of them was released, and
/// `pending` while all are held.
public struct RunWave: Sendable, Equatable {
    /// Where a wave stands.
    public enum State: String, Sendable {
        case pending
        case inProgress = "in progress"
        case done
    }

    /// 1 for the first wave.
    public var number: Int
    /// Its clusters, in target order.
    public var clusters: [RunCluster]
    /// How many of its clusters are in each status.
    public var counts: [RunCluster.Status: Int]
    public var state: State

    /// The waves of a run's clusters (skipped ones belong to no wave) for a resolved `max_parallel`.
    public static func waves(_ clusters: [RunCluster], maxParallel: Int) -> [RunWave] {
        let started = clusters.filter { $0.status != .skipped }.sorted { $0.position < $1.position }
        let size = max(1, maxParallel)
        return stride(from: 0, to: started.count, by: size).map { low in
            let members = Array(started[low..<min(low + size, started.count)])
            var counts: [RunCluster.Status: Int] = [:]
            for c in members { counts[c.status, default: 0] += 1 }
            let state: State
            if members.allSatisfy({ $0.ended != nil || $0.status.isFinal }) {
                state = .done
            } else if members.contains(where: { $0.started != nil || $0.status != .pending }) {
                state = .inProgress
            } else {
                state = .pending
            }
            return RunWave(number: low / size + 1, clusters: members, counts: counts, state: state)
        }
    }

    /// The wave a list page shows for a run without its clusters: how many waves there are and
    /// the last one released (0 before any), from the counters alone. Releases go in target
    /// order, so the released services are the first `total - held` (held services canceled by
    /// a stop count as released here: the run shows `stopped` anyway).
    public static func summary(_ p: RunProgress) -> (current: Int, count: Int) {
        let size = max(1, p.maxParallel)
        let count = (p.total + size - 1) / size
        let released = p.total - p.held
        return (min(count, (released + size - 1) / size), count)
    }
}

extension RunCluster.Status {
    /// Whether a cluster in this status is finished (its service ended, or it was skipped).
    public var isFinal: Bool {
        switch self {
        case .pending, .running: false
        case .succeeded, .failed, .expired, .canceled, .skipped: true
        }
    }
}
