import Synchronization

/// A wake-up for one waiting loop: `signal()` resumes the current `wait` at once, or makes the
/// next `wait` return at once; `wait` also returns after its timeout.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation: UInt64 = 0
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Waits for a signal or the timeout, whichever comes first.
    func wait(timeout: Duration) async {
        let generation = state.withLock { s -> UInt64? in
            if s.pending {
                s.pending = false
                return nil
            }
            s.generation &+= 1
            return s.generation
        }
        guard let generation else { return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.expire(generation)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending || s.generation != generation {
                    s.pending = false
                    return true
                }
                s.waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
        timer.cancel()
    }

    private func expire(_ generation: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.generation == generation, let w = s.waiter else {
                if s.generation == generation { s.generation &+= 1 }
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }
}
