import ClaiflowCore
import Testing

@Suite("Service cancel rule")
struct ServiceCancelRuleTests {
    static let now = Timestamp(microseconds: 1_000_000_000)

    static func service(_ status: ServiceStatus, cancelRequested: Bool = false) -> Service {
        Service(
            clusterUUID: "c1", uuid: "svc", name: "n", summary: nil, templateUUID: "", flow: "[]", inputs: "null", stepMax: 2,
            priority: 0, webhook: nil, status: status, stepSeq: 1, cancelRequested: cancelRequested,
            created: Timestamp(microseconds: 1), updated: Timestamp(microseconds: 2))
    }

    @Test("a queued service ends canceled at once, with its row")
    func queued() {
        var after = Self.service(.canceled)
        after.updated = Self.now
        let row = ServiceStatusRecord(
            stepMax: 2, stepSeq: 1, status: .canceled, started: nil, ended: Self.now, message: "canceled by an operator",
            created: Self.now)
        #expect(ServiceCancelRule.decide(Self.service(.regist), now: Self.now) == .canceled(after, row))
    }

    @Test("a delivered service gets the request, again if asked again", arguments: [ServiceStatus.sent, .processing])
    func delivered(status: ServiceStatus) {
        var after = Self.service(status, cancelRequested: true)
        after.updated = Self.now
        #expect(ServiceCancelRule.decide(Self.service(status), now: Self.now) == .requested(after))
        #expect(ServiceCancelRule.decide(Self.service(status, cancelRequested: true), now: Self.now) == .requested(after))
    }

    @Test("a finished service does not change", arguments: [ServiceStatus.succeeded, .failed, .canceled, .expired])
    func finished(status: ServiceStatus) {
        #expect(ServiceCancelRule.decide(Self.service(status), now: Self.now) == .alreadyFinished)
    }
}
