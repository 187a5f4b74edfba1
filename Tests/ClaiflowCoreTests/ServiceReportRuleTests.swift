import ClaiflowCore
import Testing

@Suite("Service report rule")
struct ServiceReportRuleTests {
    static let now = Timestamp(microseconds: 1_000_000_000)

    static func service(
        status: ServiceStatus, steps: Int = 3, stepSeq: Int = 0, holder: String? = "s1", cancelRequested: Bool = false
    ) -> Service {
        var s = Service(
            clusterUUID: "c1", uuid: "svc", name: "n", summary: nil, templateUUID: "", flow: "[]", inputs: "null",
            stepMax: steps, priority: 0, webhook: nil, status: status, stepSeq: stepSeq, cancelRequested: cancelRequested,
            created: Timestamp(microseconds: 1), updated: Timestamp(microseconds: 2))
        s.sessionUUID = holder
        return s
    }

    static func report(
        _ seq: Int, _ status: ServiceStatus, error: String? = nil, started: Timestamp? = nil, ended: Timestamp? = nil
    ) -> StepReportInput {
        StepReportInput(sequence: seq, status: status, result: "{}", error: error, started: started, ended: ended)
    }

    static func row(
        _ seq: Int, _ status: ServiceStatus, started: Timestamp? = nil, ended: Timestamp? = nil
    ) -> ServiceStatusRecord {
        ServiceStatusRecord(
            stepMax: 3, stepSeq: seq, status: status, started: started, ended: ended, message: nil,
            created: Timestamp(microseconds: 5))
    }

    static func rule(
        _ s: Service, latest: ServiceStatusRecord?, _ r: StepReportInput, reporter: String = "s1"
    ) -> ServiceReportRule {
        ServiceReportRule(service: s, latest: latest, report: r, reporter: reporter, now: now)
    }

    static func acceptance(_ d: ServiceReportRule.Decision) -> ServiceReportRule.Acceptance? {
        if case .accepted(let a) = d { return a }
        return nil
    }

    @Test(
        "the stored status: the last step as reported, an intermediate failure failed, anything else processing",
        arguments: [
            (0, ServiceStatus.processing, ServiceStatus.processing), (0, .succeeded, .processing), (0, .failed, .failed),
            (2, .processing, .processing), (2, .succeeded, .succeeded), (2, .failed, .failed),
        ] as [(Int, ServiceStatus, ServiceStatus)])
    func storedStatus(seq: Int, reported: ServiceStatus, stored: ServiceStatus) throws {
        let rule = Self.rule(Self.service(status: .processing), latest: Self.row(0, .sent), Self.report(seq, reported))
        #expect(rule.storedStatus == stored)
        #expect(rule.isLastStep == (seq == 2))
        let a = try #require(Self.acceptance(rule.decision))
        #expect(a.step.status == stored)
        #expect(a.service.status == stored)
        #expect(a.storesResult == (seq == 2 && reported == .succeeded))
        #expect(!a.cancel)
    }

    @Test("an accepted report: the step's row, the service held by the reporter with the new step")
    func accepted() throws {
        let started = Timestamp(microseconds: 10)
        let ended = Timestamp(microseconds: 20)
        let rule = Self.rule(
            Self.service(status: .sent), latest: Self.row(0, .sent),
            Self.report(1, .failed, error: "pods is forbidden", started: started, ended: ended))
        let a = try #require(Self.acceptance(rule.decision))
        #expect(
            a.step
                == ServiceStatusRecord(
                    stepMax: 3, stepSeq: 1, status: .failed, started: started, ended: ended, message: "pods is forbidden",
                    created: Self.now))
        #expect(a.canceled == nil)
        #expect(a.service.status == .failed)
        #expect(a.service.stepSeq == 1)
        #expect(a.service.sessionUUID == "s1")
        #expect(a.service.updated == Self.now)
        #expect(a.serviceAfterStep == a.service)
        // An empty error is no message.
        let quiet = try #require(
            Self.acceptance(Self.rule(Self.service(status: .sent), latest: nil, Self.report(0, .processing, error: "")).decision))
        #expect(quiet.step.message == nil)
    }

    @Test("the same report again is a duplicate; a different time or status is not")
    func resend() throws {
        let t = Timestamp(microseconds: 10)
        let s = Self.service(status: .processing)
        #expect(
            Self.rule(s, latest: Self.row(0, .processing, started: t), Self.report(0, .processing, started: t)).decision
                == .duplicate(cancel: false))
        // The stored status counts, not the reported one: a succeeded intermediate step is stored processing.
        #expect(Self.rule(s, latest: Self.row(0, .processing), Self.report(0, .succeeded)).decision == .duplicate(cancel: false))
        #expect(
            Self.acceptance(Self.rule(s, latest: Self.row(0, .processing), Self.report(0, .succeeded, ended: t)).decision) != nil)
        #expect(
            Self.acceptance(Self.rule(s, latest: Self.row(0, .processing, started: t), Self.report(0, .processing)).decision)
                != nil)
        #expect(Self.acceptance(Self.rule(s, latest: Self.row(0, .processing), Self.report(0, .failed)).decision) != nil)
    }

    @Test("a late report of a step a later one overtook is a duplicate, unless the later row is the delivery")
    func overtaken() throws {
        let s = Self.service(status: .processing, stepSeq: 1)
        #expect(Self.rule(s, latest: Self.row(1, .processing), Self.report(0, .succeeded)).decision == .duplicate(cancel: false))
        #expect(Self.rule(s, latest: Self.row(1, .failed), Self.report(0, .processing)).decision == .duplicate(cancel: false))
        #expect(Self.acceptance(Self.rule(s, latest: Self.row(1, .sent), Self.report(0, .processing)).decision) != nil)
        #expect(Self.acceptance(Self.rule(s, latest: Self.row(1, .regist), Self.report(0, .processing)).decision) != nil)
    }

    @Test("a duplicate tells the agent to stop while a cancel is pending on a running service")
    func duplicateCancel() {
        let latest = Self.row(0, .processing)
        let running = Self.service(status: .processing, cancelRequested: true)
        #expect(Self.rule(running, latest: latest, Self.report(0, .processing)).decision == .duplicate(cancel: true))
        let ended = Self.service(status: .canceled, cancelRequested: true)
        #expect(Self.rule(ended, latest: latest, Self.report(0, .processing)).decision == .duplicate(cancel: false))
    }

    @Test("a finished service refuses reports", arguments: [ServiceStatus.succeeded, .failed, .canceled, .expired])
    func finished(status: ServiceStatus) {
        #expect(
            Self.rule(Self.service(status: status), latest: Self.row(0, status), Self.report(1, .processing)).decision
                == .finished)
        #expect(Self.rule(Self.service(status: status), latest: nil, Self.report(0, .processing)).decision == .finished)
    }

    @Test("a queued service, or one without a holder, is not held")
    func notHeld() {
        #expect(
            Self.rule(Self.service(status: .regist, holder: nil), latest: Self.row(0, .regist), Self.report(0, .processing))
                .decision == .notHeld)
        #expect(
            Self.rule(Self.service(status: .regist, holder: "s1"), latest: nil, Self.report(0, .processing)).decision == .notHeld)
        #expect(
            Self.rule(Self.service(status: .sent, holder: nil), latest: nil, Self.report(0, .processing)).decision == .notHeld)
    }

    @Test("another session's service: only a newer session of the same token takes it over")
    func takeOver() throws {
        let s = Self.service(status: .processing, holder: "old")
        let rule = Self.rule(s, latest: Self.row(0, .processing), Self.report(0, .succeeded, ended: Self.now), reporter: "new")
        #expect(rule.decision == .heldByAnotherSession("old"))
        func session(_ uuid: String, token: String, created: Int64) -> ClusterSession {
            let t = Timestamp(microseconds: created)
            return ClusterSession(
                uuid: uuid, clusterUUID: "c1", clusterTokenUUID: token, issuedAt: t, expiresAt: Self.now, clientVersion: nil,
                clientLibVersion: nil, created: t, updated: t)
        }
        let old = session("old", token: "t1", created: 100)
        let newer = session("new", token: "t1", created: 200)
        let a = try #require(Self.acceptance(rule.decision(holder: old, reporter: newer)))
        #expect(a.service.sessionUUID == "new")
        #expect(a.serviceAfterStep.sessionUUID == "new")
        #expect(rule.decision(holder: old, reporter: session("new", token: "t2", created: 200)) == .notHeld)
        #expect(rule.decision(holder: old, reporter: session("new", token: "t1", created: 100)) == .notHeld)
        #expect(rule.decision(holder: old, reporter: session("new", token: "t1", created: 50)) == .notHeld)
        #expect(rule.decision(holder: nil, reporter: newer) == .notHeld)
        #expect(rule.decision(holder: old, reporter: nil) == .notHeld)
        #expect(rule.decision(holder: newer, reporter: old) == .notHeld)
        // Other decisions do not look at the sessions.
        let finished = Self.rule(
            Self.service(status: .failed, holder: "old"), latest: nil, Self.report(0, .processing), reporter: "new")
        #expect(finished.decision(holder: old, reporter: newer) == .finished)
    }

    @Test("a pending cancel: the report is stored, then the service ends canceled and the agent is told to stop")
    func pendingCancel() throws {
        let s = Self.service(status: .processing, cancelRequested: true)
        let a = try #require(
            Self.acceptance(Self.rule(s, latest: Self.row(0, .processing), Self.report(0, .succeeded, ended: Self.now)).decision))
        #expect(a.cancel)
        #expect(a.step.status == .processing)
        #expect(
            a.canceled
                == ServiceStatusRecord(
                    stepMax: 3, stepSeq: 0, status: .canceled, started: nil, ended: Self.now, message: "canceled by an operator",
                    created: Self.now))
        #expect(a.service.status == .canceled)
        #expect(a.serviceAfterStep.status == .processing)
        #expect(!a.storesResult)
        // A report that ends the service itself ends it as reported.
        let last = try #require(
            Self.acceptance(Self.rule(s, latest: Self.row(0, .processing), Self.report(2, .succeeded)).decision))
        #expect(!last.cancel)
        #expect(last.canceled == nil)
        #expect(last.service.status == .succeeded)
        #expect(last.storesResult)
        // A failure, even of the last step, ends it canceled: the agent interrupted the step
        // because of the cancel (the step's row keeps the failure).
        for seq in [1, 2] {
            let failed = try #require(
                Self.acceptance(Self.rule(s, latest: Self.row(0, .processing), Self.report(seq, .failed)).decision))
            #expect(failed.cancel)
            #expect(failed.step.status == .failed)
            #expect(failed.service.status == .canceled)
        }
    }
}
