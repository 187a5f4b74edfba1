import ClaiflowCore
import Testing

@Suite("Service sweep rule")
struct ServiceSweepRuleTests {
    static let now = Timestamp(microseconds: 1_000_000_000)
    static let validAfter = Timestamp(microseconds: 400_000_000)
    static let rule = ServiceSweepRule(maxAttempts: 3)
    static let lapsed = Timestamp(microseconds: 999_999_999)

    static func state(
        _ status: ServiceStatus, cancel: Bool = false, attempts: Int = 1, created: Timestamp = now, lease: Timestamp? = lapsed,
        paused: Bool = false
    ) -> ServiceSweepRule.State {
        ServiceSweepRule.State(
            status: status, cancelRequested: cancel, attempts: attempts, validFrom: created, leaseExpires: lease,
            clusterPaused: paused)
    }

    /// What a transition does to a service.
    struct Outcome: Equatable {
        var to: ServiceStatus
        var message: String
        var releasesSession: Bool

        init(_ to: ServiceStatus, _ message: String, _ releasesSession: Bool) {
            self.to = to
            self.message = message
            self.releasesSession = releasesSession
        }
    }

    /// What a sweep at `now` does to a service in a state.
    static func outcome(_ s: ServiceSweepRule.State) -> Outcome? {
        rule.transition(for: s, now: now, validAfter: validAfter).map { Outcome($0.to, $0.message, $0.releasesSession) }
    }

    @Test("queued past the validity period: expired, the session let go of")
    func expired() throws {
        let o = try #require(Self.outcome(Self.state(.regist, created: Self.validAfter, lease: nil)))
        #expect(o == Outcome(.expired, "not picked up by an agent within ClientConfig/ServiceValidityPeriod", true))
        #expect(Self.outcome(Self.state(.regist, created: Timestamp(microseconds: 400_000_001), lease: nil)) == nil)
    }

    @Test("a paused cluster's queued services do not expire, whatever their age")
    func pausedDoesNotExpire() {
        #expect(Self.outcome(Self.state(.regist, created: Timestamp(microseconds: 0), lease: nil, paused: true)) == nil)
        #expect(Self.outcome(Self.state(.regist, created: Timestamp(microseconds: 0), lease: nil)) != nil)
        // Leases still lapse on a paused cluster: the agent has the service already.
        #expect(Self.outcome(Self.state(.processing, paused: true))?.to == .failed)
    }

    @Test("resuming moves the validity clock's start by the part of the pause that overlapped it")
    func validityStartAfterResume() {
        func t(_ s: Int64) -> Timestamp { Timestamp(microseconds: s * 1_000_000) }
        // Queued at 100, paused 200…500: the 300 s of pause do not count.
        #expect(ServiceSweepRule.validityStart(from: t(100), pausedSince: t(200), resumed: t(500)) == t(400))
        // Created during the pause (at 300): its clock starts at the resume.
        #expect(ServiceSweepRule.validityStart(from: t(300), pausedSince: t(200), resumed: t(500)) == t(500))
        // Two pauses add up: 100 → +100 (pause 200…300) → +50 (pause 400…450).
        let once = ServiceSweepRule.validityStart(from: t(100), pausedSince: t(200), resumed: t(300))
        #expect(ServiceSweepRule.validityStart(from: once, pausedSince: t(400), resumed: t(450)) == t(250))
    }

    @Test("sent, lease lapsed: queued again while attempts remain, then failed")
    func sent() throws {
        for attempts in [0, 1, 2] {
            let o = try #require(Self.outcome(Self.state(.sent, attempts: attempts)))
            #expect(
                o
                    == Outcome(
                        .regist,
                        "requeued: no report from the agent it was sent to within its lease",
                        true))
        }
        for attempts in [3, 4] {
            let o = try #require(Self.outcome(Self.state(.sent, attempts: attempts)))
            #expect(o == Outcome(.failed, "agent lost: delivered 3 times and never started", false))
        }
        #expect(
            ServiceSweepRule(maxAttempts: 1).transition(
                for: Self.state(.sent, attempts: 1), now: Self.now, validAfter: Self.validAfter)?.message
                == "agent lost: delivered 1 times and never started")
    }

    @Test("processing, lease lapsed: failed, agent lost")
    func processing() throws {
        let o = try #require(Self.outcome(Self.state(.processing, attempts: 9)))
        #expect(o == Outcome(.failed, "agent lost: the agent running it stopped reporting", false))
    }

    @Test("a cancel requested and the lease lapsed: canceled", arguments: [ServiceStatus.sent, .processing])
    func canceled(status: ServiceStatus) throws {
        let o = try #require(Self.outcome(Self.state(status, cancel: true, attempts: 9)))
        #expect(o == Outcome(.canceled, "canceled by an operator", false))
        #expect(Self.outcome(Self.state(status, cancel: true, lease: Self.now)) == nil)
    }

    @Test("a lease that has not lapsed (or is missing) changes nothing", arguments: [ServiceStatus.sent, .processing])
    func leaseHolds(status: ServiceStatus) {
        #expect(Self.outcome(Self.state(status, lease: Self.now)) == nil)
        #expect(Self.outcome(Self.state(status, lease: Timestamp(microseconds: 2_000_000_000))) == nil)
        #expect(Self.outcome(Self.state(status, lease: nil)) == nil)
        // The validity period is for queued services only.
        #expect(Self.outcome(Self.state(status, created: Timestamp(microseconds: 0), lease: nil)) == nil)
    }

    @Test("finished services never change", arguments: [ServiceStatus.succeeded, .failed, .canceled, .expired])
    func finished(status: ServiceStatus) {
        #expect(Self.outcome(Self.state(status, cancel: true, created: Timestamp(microseconds: 0))) == nil)
        #expect(Self.outcome(Self.state(status, created: Timestamp(microseconds: 0))) == nil)
    }

    @Test("a running service past its timeout plus the grace: failed \"timed out\", before \"agent lost\"")
    func timedOut() {
        func state(timeoutAt: Timestamp?, lease: Timestamp? = Timestamp(microseconds: 2_000_000_000)) -> ServiceSweepRule.State {
            ServiceSweepRule.State(
                status: .processing, cancelRequested: false, attempts: 1, validFrom: Self.now, leaseExpires: lease,
                timeoutAt: timeoutAt)
        }
        let rule = ServiceSweepRule(maxAttempts: 3, timeoutGrace: .seconds(30))
        func outcome(_ s: ServiceSweepRule.State) -> ServiceStatus? {
            rule.transition(for: s, now: Self.now, validAfter: Self.validAfter)?.to
        }
        // The timeout ended 31 s ago: past the 30 s grace.
        #expect(outcome(state(timeoutAt: Self.now.adding(.seconds(-31)))) == .failed)
        #expect(
            rule.transition(for: state(timeoutAt: Self.now.adding(.seconds(-31))), now: Self.now, validAfter: Self.validAfter)?
                .message == "timed out: still running 30s after its timeout ended; its agent did not stop it")
        // Within the grace, or without a timeout: nothing.
        #expect(outcome(state(timeoutAt: Self.now.adding(.seconds(-29)))) == nil)
        #expect(outcome(state(timeoutAt: nil)) == nil)
        // Its agent vanished too (lease lapsed): the timeout is the reason given.
        let both = state(timeoutAt: Self.now.adding(.seconds(-60)), lease: Self.lapsed)
        #expect(rule.transition(for: both, now: Self.now, validAfter: Self.validAfter)?.message.hasPrefix("timed out") == true)
        // Delivered, never started: the same.
        var sent = state(timeoutAt: Self.now.adding(.seconds(-31)))
        sent.status = .sent
        #expect(outcome(sent) == .failed)
        // A queued service has no timeout running.
        var queued = state(timeoutAt: Self.now.adding(.seconds(-60)), lease: nil)
        queued.status = .regist
        #expect(outcome(queued) == nil)
    }

    @Test("applying the transitions in order is taking the first that matches: no target is a later source")
    func order() {
        let transitions = Self.rule.transitions
        #expect(transitions.map(\.to) == [.expired, .canceled, .failed, .regist, .failed, .failed])
        for (i, t) in transitions.enumerated() {
            for later in transitions[(i + 1)...] { #expect(!later.from.contains(t.to)) }
            #expect(!t.from.contains { $0.isTerminal })
        }
    }
}
