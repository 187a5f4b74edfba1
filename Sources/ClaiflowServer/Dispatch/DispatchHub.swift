import NIOCore
import NIOPosix
import Synchronization

/// Parked long polls, in memory, keyed by cluster: a wake-up is a dictionary lookup, not a query.
///
/// Each cluster has a generation counter, bumped by every wake-up. A poll reads it before it
/// looks for work and hands it to ``wait(cluster:tokenUUID:generation:timeout:)``: if work arrived
/// in between, the wait returns at once, so no wake-up is ever lost. The same counter lets a poll
/// skip the database when nothing happened for its cluster since its last empty look — for at
/// most ``emptyMarkLifetime``: a wake-up lost between replicas (a `NOTIFY` that failed) then
/// delays a cluster's new work by at most that lifetime and one poll wait, not forever.
///
/// A parked poll costs no task of its own here: its timeout is a timer on an event loop, and a
/// ``WaitHandle`` lets its transport's graceful shutdown end it (thousands of parked polls, one
/// per agent, each held for up to a minute: docs/benchmarks.md measures the memory each costs).
public final class DispatchHub: Sendable {
    /// Why a parked poll resumed.
    public enum Wake: Sendable, Equatable {
        case work
        case revoked
        case timeout
        case shutdown
    }

    private struct Waiter {
        let tokenUUID: String
        /// Called once, with why the wait ended.
        let onWake: @Sendable (Wake) -> Void
        /// Ends the wait at its timeout; cancelled when the wait ends otherwise.
        let timer: Scheduled<Void>

        func resume(_ wake: Wake) {
            if wake != .timeout { timer.cancel() }
            onWake(wake)
        }
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var nextID: UInt64 = 0
        var waiters: [String: [UInt64: Waiter]] = [:]
        var emptyAt: [String: EmptyMark] = [:]
        /// Marks of polls that do not take v2 services (an original agent's): the cluster may
        /// still have work for an agent that does.
        var emptyForOriginalAt: [String: EmptyMark] = [:]
        var shuttingDown = false
    }

    /// A cluster found empty at a generation, at a time.
    private struct EmptyMark {
        let generation: UInt64
        let at: ContinuousClock.Instant
    }

    /// How long a "known empty" mark is trusted (30 s by default). Wake-ups travel between
    /// replicas by `NOTIFY`, which can be lost (the publish failed after its retries, or the
    /// listener was reconnecting): a poll then looks at the database again once the mark is this
    /// old. Shorter costs more empty looks for clusters whose agents poll often; longer lets a
    /// lost wake-up delay work longer.
    public static let defaultEmptyMarkLifetime: Duration = .seconds(30)

    private let state = Mutex(State())
    private let timers: any EventLoopGroup
    /// How long a "known empty" mark is trusted.
    public let emptyMarkLifetime: Duration
    private let now: @Sendable () -> ContinuousClock.Instant

    /// A hub whose wait timeouts run on `timers`, trusting a "known empty" mark for
    /// `emptyMarkLifetime` as measured by `now`.
    public init(
        timers: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        emptyMarkLifetime: Duration = DispatchHub.defaultEmptyMarkLifetime,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.timers = timers
        self.emptyMarkLifetime = emptyMarkLifetime
        self.now = now
    }

    /// The cluster's generation now.
    public func generation(of cluster: String) -> UInt64 { state.withLock { $0.generations[cluster] ?? 0 } }

    /// Records that the cluster had no claimable work at `generation` for a poll that takes v2
    /// services (`runsFlowV2`; then none for any poll) or for one that does not.
    public func markEmpty(_ cluster: String, generation: UInt64, runsFlowV2: Bool = true) {
        let mark = EmptyMark(generation: generation, at: now())
        state.withLock { s in
            if runsFlowV2 { s.emptyAt[cluster] = mark } else { s.emptyForOriginalAt[cluster] = mark }
        }
    }

    /// Whether the cluster is known to have no claimable work for a poll that takes v2 services
    /// (`runsFlowV2`) or one that does not: nothing woke it since it was found empty, less than
    /// ``emptyMarkLifetime`` ago.
    public func isKnownEmpty(_ cluster: String, runsFlowV2: Bool = true) -> Bool {
        let oldest = now() - emptyMarkLifetime
        return state.withLock { s in
            let generation = s.generations[cluster] ?? 0
            func holds(_ mark: EmptyMark?) -> Bool {
                guard let mark else { return false }
                return mark.generation == generation && mark.at > oldest
            }
            if holds(s.emptyAt[cluster]) { return true }
            return !runsFlowV2 && holds(s.emptyForOriginalAt[cluster])
        }
    }

    /// The number of polls parked now.
    public var parkedCount: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    /// Parks until the cluster is woken, the token revoked, the timeout passes, the task is
    /// cancelled (the client went away) or the server shuts down.
    public func wait(cluster: String, tokenUUID: String, generation: UInt64, timeout: Duration) async -> Wake {
        await wait(cluster: cluster, tokenUUID: tokenUUID, generation: generation, timeout: timeout, handle: WaitHandle())
    }

    /// ``wait(cluster:tokenUUID:generation:timeout:)`` that ``end(_:)`` can end with `.shutdown`
    /// from outside, even before it parks.
    func wait(cluster: String, tokenUUID: String, generation: UInt64, timeout: Duration, handle: WaitHandle) async -> Wake {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Wake, Never>) in
                park(cluster: cluster, tokenUUID: tokenUUID, generation: generation, timeout: timeout, handle: handle) {
                    c.resume(returning: $0)
                }
            }
        } onCancel: {
            self.end(handle)
        }
    }

    /// Parks a wait without a task: `onWake` is called once, with why it ended (at once, on the
    /// caller's thread, when it cannot park: the cluster's generation moved on, the handle was
    /// ended or the hub shuts down). ``end(_:)`` ends it with `.shutdown`, even before it parks.
    func park(
        cluster: String, tokenUUID: String, generation: UInt64, timeout: Duration, handle: WaitHandle,
        onWake: @escaping @Sendable (Wake) -> Void
    ) {
        let immediate: Wake? = state.withLock { s in
            if s.shuttingDown { return .shutdown }
            // Ended before it parked (the handle's owner found no waiter).
            if handle.isEnded { return .shutdown }
            if (s.generations[cluster] ?? 0) != generation { return .work }
            s.nextID += 1
            let key = s.nextID
            guard handle.park(on: cluster, id: key) else { return .shutdown }
            let timer = timers.any().scheduleTask(in: TimeAmount(timeout)) { [weak self] in
                self?.resume(cluster: cluster, key: key, with: .timeout) ?? ()
            }
            s.waiters[cluster, default: [:]][key] = Waiter(tokenUUID: tokenUUID, onWake: onWake, timer: timer)
            return nil
        }
        if let immediate { onWake(immediate) }
    }

    /// Ends a wait with `.shutdown`: at once if it is parked, as soon as it tries to park otherwise.
    func end(_ handle: WaitHandle) {
        guard let (cluster, key) = handle.end() else { return }
        resume(cluster: cluster, key: key, with: .shutdown)
    }

    private func resume(cluster: String, key: UInt64, with wake: Wake) {
        let waiter = state.withLock { s -> Waiter? in
            let w = s.waiters[cluster]?.removeValue(forKey: key)
            if s.waiters[cluster]?.isEmpty == true { s.waiters[cluster] = nil }
            return w
        }
        waiter?.resume(wake)
    }

    /// Wakes every poll parked on the clusters (new or requeued work).
    public func wake(clusters: some Sequence<String>) {
        var woken: [Waiter] = []
        state.withLock { s in
            for c in Set(clusters) {
                s.generations[c, default: 0] &+= 1
                if let ws = s.waiters.removeValue(forKey: c) { woken += ws.values }
            }
        }
        for w in woken { w.resume(.work) }
    }

    /// Forgets every "known empty" mark (after events may have been missed).
    public func forgetEmpty() {
        state.withLock { s in
            s.emptyAt.removeAll()
            s.emptyForOriginalAt.removeAll()
        }
    }

    /// Ends the polls parked with a token (revoked, expired, deleted or changed).
    public func revoke(tokenUUID: String) {
        endWaiters { $0.tokenUUID == tokenUUID }
    }

    /// Ends the polls parked on a cluster (deleted).
    public func revoke(cluster: String) {
        let ws = state.withLock { s in s.waiters.removeValue(forKey: cluster).map { Array($0.values) } ?? [] }
        for w in ws { w.resume(.revoked) }
    }

    private func endWaiters(_ match: (Waiter) -> Bool) {
        var ended: [Waiter] = []
        state.withLock { s in
            for (cluster, ws) in s.waiters {
                for (id, w) in ws where match(w) {
                    ended.append(w)
                    s.waiters[cluster]?[id] = nil
                }
                if s.waiters[cluster]?.isEmpty == true { s.waiters[cluster] = nil }
            }
        }
        for w in ended { w.resume(.revoked) }
    }

    /// Ends every parked poll (graceful shutdown) and refuses new waits.
    public func shutdown() {
        let all = state.withLock { s -> [Waiter] in
            s.shuttingDown = true
            let ws = s.waiters.values.flatMap { $0.values }
            s.waiters.removeAll()
            return ws
        }
        for w in all { w.resume(.shutdown) }
    }
}
