import Synchronization

/// A broadcast "something changed" signal with a generation counter, so that a waiter that
/// checked a condition at generation `g` never misses a change made after its check.
final class StateSignal: Sendable {
    private struct Inner {
        var generation: UInt64 = 0
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let inner = Mutex(Inner())

    /// The current generation; read it before checking a condition, then ``wait(after:)``.
    var generation: UInt64 { inner.withLock { $0.generation } }

    /// Wakes every waiter.
    func notify() {
        let waiters = inner.withLock { i -> [CheckedContinuation<Void, Never>] in
            i.generation &+= 1
            let w = Array(i.waiters.values)
            i.waiters.removeAll()
            return w
        }
        for w in waiters { w.resume() }
    }

    /// Returns once the generation has moved past `seen`, or when the calling task is canceled.
    func wait(after seen: UInt64) async {
        let id = inner.withLock { i -> UInt64 in
            i.nextID &+= 1
            return i.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = inner.withLock { i -> Bool in
                    if i.generation != seen || Task.isCancelled { return true }
                    i.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            inner.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Waits until `condition` holds (true), `deadline` passes or the task is canceled (false).
    /// The condition is re-checked after every ``notify()``.
    func waitUntil(deadline: ContinuousClock.Instant?, _ condition: () -> Bool) async -> Bool {
        while true {
            let seen = generation
            if condition() { return true }
            if Task.isCancelled { return false }
            guard let deadline else {
                await wait(after: seen)
                continue
            }
            if ContinuousClock.now >= deadline { return false }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.wait(after: seen) }
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                await group.next()
                group.cancelAll()
            }
        }
    }
}

/// Jittered exponential backoff: `initial`, doubling up to `maximum`; each delay is drawn
/// uniformly from its upper half so that many agents restarting together spread out.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var current: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.current = initial
    }

    /// The next delay.
    mutating func next() -> Duration {
        let base = current
        current = min(current * 2, maximum)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }

    /// Back to the initial delay (after a success).
    mutating func reset() { current = initial }
}
