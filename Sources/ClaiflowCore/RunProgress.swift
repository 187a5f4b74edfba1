/// The counters of a run and the rule that moves it on, one finished service at a time: the
/// store keeps these on the run's row and applies ``serviceEnded(_:wasHeld:)`` in the
/// transaction that ends a service, so a report costs the same whatever the run's size.
public struct RunProgress: Sendable, Hashable {
    /// Clusters the run started or will start (skipped ones excluded).
    public var total: Int
    /// Paused clusters left out.
    public var skipped: Int
    /// Services not released yet (not claimable by agents).
    public var held: Int
    /// Services released and not finished (queued for their agent, sent or processing).
    public var active: Int
    public var succeeded: Int
    public var failed: Int
    public var expired: Int
    public var canceled: Int
    /// The resolved `max_parallel`.
    public var maxParallel: Int
    /// The resolved `max_failures` (`Int.max`: none).
    public var maxFailures: Int
    /// `running` until the threshold stops it or an operator cancels it.
    public var intent: RunState

    /// What the store must do next.
    public enum Action: Sendable, Hashable {
        case none
        /// Release this many held services, in position order.
        case release(Int)
        /// Cancel every held service (the run was stopped or canceled).
        case cancelHeld
    }

    /// A new run of `total` started clusters, all held, and `skipped` left out.
    public init(total: Int, skipped: Int, strategy: RunStrategy) {
        self.total = total
        self.skipped = skipped
        held = total
        active = 0
        succeeded = 0
        failed = 0
        expired = 0
        canceled = 0
        (maxParallel, maxFailures) = strategy.resolved(started: total)
        intent = .running
    }

    /// All fields, as stored.
    public init(
        total: Int, skipped: Int, held: Int, active: Int, succeeded: Int, failed: Int, expired: Int, canceled: Int,
        maxParallel: Int, maxFailures: Int, intent: RunState
    ) {
        self.total = total
        self.skipped = skipped
        self.held = held
        self.active = active
        self.succeeded = succeeded
        self.failed = failed
        self.expired = expired
        self.canceled = canceled
        self.maxParallel = maxParallel
        self.maxFailures = maxFailures
        self.intent = intent
    }

    /// Clusters that failed or expired: what the threshold counts.
    public var failures: Int { failed + expired }

    /// Whether every service has finished.
    public var isFinished: Bool { held == 0 && active == 0 }

    /// The state as shown.
    public var state: RunState {
        if intent != .running { return intent }
        if !isFinished { return .running }
        return failures + canceled == 0 ? .succeeded : .failed
    }

    /// What to do now: stop when the threshold is passed, cancel what is held when stopped or
    /// canceled, otherwise release held services up to `max_parallel`.
    public mutating func next() -> Action {
        if intent == .running, failures > maxFailures { intent = .stopped }
        if intent != .running { return held > 0 ? .cancelHeld : .none }
        let n = min(held, maxParallel - active)
        return n > 0 ? .release(n) : .none
    }

    /// A service of the run ended with `status` (`wasHeld`: it had not been released, e.g. an
    /// operator canceled it); returns what to do next.
    public mutating func serviceEnded(_ status: ServiceStatus, wasHeld: Bool) -> Action {
        if wasHeld { held -= 1 } else { active -= 1 }
        switch status {
        case .succeeded: succeeded += 1
        case .failed: failed += 1
        case .expired: expired += 1
        case .canceled, .regist, .sent, .processing: canceled += 1
        }
        return next()
    }

    /// `n` held services were released.
    public mutating func released(_ n: Int) {
        held -= n
        active += n
    }

    /// `n` held services were canceled (stopped or canceled run).
    public mutating func heldCanceled(_ n: Int) {
        held -= n
        canceled += n
    }

    /// An operator canceled the run (also a stopped one that is still ending): nothing more is released.
    public mutating func cancel() -> Action {
        intent = .canceled
        return next()
    }

    /// The message a held service gets when the run stops before releasing it.
    public var stopMessage: String {
        switch intent {
        case .canceled: "the run was canceled before this cluster started"
        default:
            "the run stopped before this cluster started: \(failures) clusters failed or expired, more than max_failures (\(maxFailures))"
        }
    }
}
