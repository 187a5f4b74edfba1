/// What an operator's cancel does to a service, as a pure function: the store loads the
/// service, asks the rule and writes what it decided.
///
/// A queued (`regist`) service ends `canceled` at once; a delivered one (`sent`, `processing`)
/// gets `cancel_requested` and ends `canceled` with its agent's next report or when its lease
/// lapses (see ``ServiceReportRule`` and ``ServiceSweepRule``); a finished one does not change.
public enum ServiceCancelRule {
    /// The message of the status row that ends a service canceled.
    public static let message = "canceled by an operator"

    /// What a cancel does.
    public enum Decision: Sendable, Equatable {
        /// The service had not been delivered: it is `canceled` now (the service after the change
        /// and its new status row).
        case canceled(Service, ServiceStatusRecord)
        /// The service is delivered: the request is recorded for its agent (the service after).
        case requested(Service)
        /// The service had already finished: nothing changes.
        case alreadyFinished
    }

    /// Decides what canceling `service` at `now` does.
    public static func decide(_ service: Service, now: Timestamp) -> Decision {
        if service.status.isTerminal { return .alreadyFinished }
        var s = service
        s.updated = now
        if s.status == .regist {
            s.status = .canceled
            let record = ServiceStatusRecord(
                stepMax: s.stepMax, stepSeq: s.stepSeq, status: .canceled, started: nil, ended: now, message: message,
                created: now)
            return .canceled(s, record)
        }
        s.cancelRequested = true
        return .requested(s)
    }
}
