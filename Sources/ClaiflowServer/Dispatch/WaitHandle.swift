import Synchronization

/// One wait on the ``DispatchHub``, so that something outside it (the graceful shutdown of the
/// transport serving the poll, the poll's cancellation) can end it, even before it parks.
final class WaitHandle: Sendable {
    private struct State {
        var ended = false
        var parked: (cluster: String, id: UInt64)?
    }

    private let state = Mutex(State())

    /// Whether ``end()`` was called.
    var isEnded: Bool { state.withLock { $0.ended } }

    /// Notes where the wait parks (the hub calls this under its lock, as it parks); false when
    /// ``end()`` came first: the wait must not park.
    func park(on cluster: String, id: UInt64) -> Bool {
        state.withLock { s in
            if s.ended { return false }
            s.parked = (cluster, id)
            return true
        }
    }

    /// Marks the wait ended; the cluster it is parked on, if it parked (then the caller resumes
    /// it: the hub's lock orders this after the parking).
    func end() -> (cluster: String, id: UInt64)? {
        state.withLock { s in
            s.ended = true
            return s.parked
        }
    }
}
