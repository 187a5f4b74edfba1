/// What happens to a service whose deadline passed, as data: an ordered list of transitions,
/// each a condition on the service's state and the status it moves to with its message.
///
/// - queued (`regist`) since before the validity period began → `expired`; the validity clock
///   starts when the service is created and stands still while its cluster is paused (a paused
///   cluster's queued services never expire; on resume their start moves later by the time the
///   pause overlapped them, ``validityStart(from:pausedSince:resumed:)``);
/// - delivered (`sent` or `processing`), an operator asked to cancel, lease lapsed → `canceled`;
/// - `sent`, lease lapsed (no report from the agent: it never received the poll's answer, or it
///   stopped before starting it; keep-alives do not extend a `sent` lease) → `regist` again while
///   it was delivered fewer than `maxAttempts` times, else `failed`;
/// - delivered (`sent` or `processing`), its `timeout` plus ``timeoutGrace`` passed since it was
///   delivered (the agent stops a service at its timeout, so it did not: it hung or vanished) →
///   `failed`, "timed out";
/// - `processing`, lease lapsed (the agent stopped reporting) → `failed`, "agent lost".
///
/// The store turns each transition into one atomic statement, applied in this order; no
/// transition's target status is a later one's source, so the result is the same as taking, for
/// each service, the first transition that matches it (``transition(for:now:validAfter:)``).
public struct ServiceSweepRule: Sendable, Equatable {
    /// How many deliveries a service gets before a lapsed `sent` lease fails it.
    public var maxAttempts: Int

    /// How long past a service's timeout the server waits for the agent's own report before it
    /// fails the service.
    public var timeoutGrace: GoDuration

    /// The rule with a delivery limit and the grace after a service's timeout.
    public init(maxAttempts: Int, timeoutGrace: GoDuration = .seconds(30)) {
        self.maxAttempts = maxAttempts
        self.timeoutGrace = timeoutGrace
    }

    /// One change the sweep makes: which services it applies to, and what they become.
    public struct Transition: Sendable, Equatable {
        /// The deadline that must have passed.
        public enum Deadline: Sendable, Equatable {
            /// The validity period: its clock started at or before the sweep's `validAfter`, and
            /// its cluster is not paused.
            case validityPeriod
            /// The lease: it expired before the sweep's `now` (a service without a lease never lapses).
            case lease
            /// The service's timeout: it ended, plus `grace`, before the sweep's `now` (a service
            /// without a timeout never times out).
            case timeout(grace: GoDuration)
        }

        /// The statuses it applies to.
        public var from: [ServiceStatus]
        /// The `cancel_requested` it applies to; nil for either.
        public var cancelRequested: Bool?
        /// The deadline that must have passed.
        public var deadline: Deadline
        /// When set, it applies only to services delivered fewer times than this.
        public var attemptsBelow: Int?
        /// The status it moves them to (the lease always ends).
        public var to: ServiceStatus
        /// Whether the holding session lets go of them.
        public var releasesSession: Bool
        /// The message of the new status row.
        public var message: String

        /// Whether the transition applies to a service in this state.
        public func matches(_ state: State, now: Timestamp, validAfter: Timestamp) -> Bool {
            guard from.contains(state.status) else { return false }
            if let cancelRequested, state.cancelRequested != cancelRequested { return false }
            if let attemptsBelow, state.attempts >= attemptsBelow { return false }
            switch deadline {
            case .validityPeriod: return !state.clusterPaused && state.validFrom <= validAfter
            case .lease: return state.leaseExpires.map { $0 < now } ?? false
            case .timeout(let grace): return state.timeoutAt.map { $0.adding(grace) < now } ?? false
            }
        }
    }

    /// What the sweep looks at in a service.
    public struct State: Sendable, Equatable {
        public var status: ServiceStatus
        public var cancelRequested: Bool
        /// How many times it was delivered.
        public var attempts: Int
        /// When its validity clock started: its creation, moved later by the time its cluster
        /// was paused while it was queued.
        public var validFrom: Timestamp
        /// When its lease lapses (nil when it has none).
        public var leaseExpires: Timestamp?
        /// Whether its cluster is paused now.
        public var clusterPaused: Bool
        /// When its timeout ends (its delivery plus its `timeout`; nil without one).
        public var timeoutAt: Timestamp?

        public init(
            status: ServiceStatus, cancelRequested: Bool, attempts: Int, validFrom: Timestamp, leaseExpires: Timestamp?,
            clusterPaused: Bool = false, timeoutAt: Timestamp? = nil
        ) {
            self.timeoutAt = timeoutAt
            self.status = status
            self.cancelRequested = cancelRequested
            self.attempts = attempts
            self.validFrom = validFrom
            self.leaseExpires = leaseExpires
            self.clusterPaused = clusterPaused
        }
    }

    /// Where a queued service's validity clock starts after its cluster, paused since
    /// `pausedSince`, is resumed at `resumed`: later by the part of the pause that overlapped
    /// its queued time (all of it for a service queued before the pause; for one created during
    /// the pause, the clock starts at the resume). Exact however many times a cluster pauses.
    public static func validityStart(from validFrom: Timestamp, pausedSince: Timestamp, resumed: Timestamp) -> Timestamp {
        let overlapStart = max(validFrom.microseconds, pausedSince.microseconds)
        return Timestamp(microseconds: validFrom.microseconds + max(0, resumed.microseconds - overlapStart))
    }

    /// The transitions, in the order the sweep applies them.
    public var transitions: [Transition] {
        [
            Transition(
                from: [.regist], cancelRequested: nil, deadline: .validityPeriod, attemptsBelow: nil, to: .expired,
                releasesSession: true, message: "not picked up by an agent within ClientConfig/ServiceValidityPeriod"),
            Transition(
                from: [.sent, .processing], cancelRequested: true, deadline: .lease, attemptsBelow: nil, to: .canceled,
                releasesSession: false, message: ServiceCancelRule.message),
            Transition(
                from: [.sent, .processing], cancelRequested: nil, deadline: .timeout(grace: timeoutGrace), attemptsBelow: nil,
                to: .failed, releasesSession: false, message: timeoutMessage),
            Transition(
                from: [.sent], cancelRequested: false, deadline: .lease, attemptsBelow: maxAttempts, to: .regist,
                releasesSession: true, message: "requeued: no report from the agent it was sent to within its lease"),
            Transition(
                from: [.sent], cancelRequested: false, deadline: .lease, attemptsBelow: nil, to: .failed,
                releasesSession: false, message: "agent lost: delivered \(maxAttempts) times and never started"),
            Transition(
                from: [.processing], cancelRequested: false, deadline: .lease, attemptsBelow: nil, to: .failed,
                releasesSession: false, message: "agent lost: the agent running it stopped reporting"),
        ]
    }

    /// The message of a service the server ended past its timeout.
    public var timeoutMessage: String {
        "timed out: still running \(ServiceTimeout.short(timeoutGrace)) after its timeout ended; its agent did not stop it"
    }

    /// The transition a sweep at `now` applies to a service in `state` (the first that matches),
    /// or nil when its deadlines have not passed. `validAfter` is `now` minus the validity period.
    public func transition(for state: State, now: Timestamp, validAfter: Timestamp) -> Transition? {
        transitions.first { $0.matches(state, now: now, validAfter: validAfter) }
    }
}
