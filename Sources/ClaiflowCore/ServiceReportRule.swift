/// What an agent's step report does to a service, as a pure function: the store loads the
/// service and its latest status row, asks the rule, and writes what it decided.
///
/// The stored-status rule is the original's: the last step's status is stored as reported, a
/// failed intermediate step as `failed`, anything else as `processing`; the result is kept when
/// the last step succeeded. The same report again, or a late report of a step that a later one
/// overtook, changes nothing. A finished service refuses reports; so does a service that is not
/// delivered to the reporting session (unless that session is a newer one of the holder's
/// cluster token). A report for a service an operator canceled is stored, then the service ends
/// `canceled` and the agent is told to stop — unless the report ends the service by succeeding.
public struct ServiceReportRule: Sendable, Equatable {
    /// The service as stored before the report.
    public var service: Service
    /// Its latest status row, if any.
    public var latest: ServiceStatusRecord?
    /// The report.
    public var report: StepReportInput
    /// The uuid of the session that sent the report.
    public var reporter: String
    /// When the report is recorded.
    public var now: Timestamp

    /// A rule for one report.
    public init(service: Service, latest: ServiceStatusRecord?, report: StepReportInput, reporter: String, now: Timestamp) {
        self.service = service
        self.latest = latest
        self.report = report
        self.reporter = reporter
        self.now = now
    }

    /// What a report does.
    public enum Decision: Sendable, Equatable {
        /// The report was already stored (or a later step overtook it): nothing changes. `cancel`
        /// tells the agent to stop (an operator canceled the service).
        case duplicate(cancel: Bool)
        /// The service had already finished: the report is refused.
        case finished
        /// The service is not delivered to the reporting session: the report is refused.
        case notHeld
        /// Another session (this uuid) holds the service: the report is accepted only when the
        /// reporter took over from it; see ``decision(holder:reporter:)``.
        case heldByAnotherSession(String)
        /// The report is stored.
        case accepted(Acceptance)
    }

    /// What an accepted report writes.
    public struct Acceptance: Sendable, Equatable {
        /// The step's status row: the stored status, the agent's times and error.
        public var step: ServiceStatusRecord
        /// The `canceled` row when a pending cancel ends the service with this report.
        public var canceled: ServiceStatusRecord?
        /// The service after the report (held by the reporting session).
        public var service: Service
        /// Whether the step's result becomes the service's result (the last step succeeded).
        public var storesResult: Bool

        /// Whether the agent must stop the service (an operator canceled it).
        public var cancel: Bool { canceled != nil }

        /// The service as the step's row left it (before a pending cancel ended it).
        public var serviceAfterStep: Service {
            var s = service
            s.status = step.status
            return s
        }
    }

    /// Whether the report is of the service's last step.
    public var isLastStep: Bool { report.sequence + 1 == service.stepMax }

    /// The status stored for the reported step: as reported for the last step; `failed` for a
    /// failed intermediate step; `processing` otherwise.
    public var storedStatus: ServiceStatus {
        if isLastStep { return report.status }
        return report.status == .failed ? .failed : .processing
    }

    /// The decision from the service and its latest row alone. ``Decision/heldByAnotherSession(_:)``
    /// asks for the sessions: then call ``decision(holder:reporter:)``.
    public var decision: Decision {
        let stored = storedStatus
        if let latest {
            // The same report again (same step, status and times), or a late report of an
            // earlier step that a later one overtook: nothing to change.
            let resend =
                latest.stepSeq == report.sequence && latest.status == stored && latest.started == report.started
                && latest.ended == report.ended
            let overtaken = latest.stepSeq > report.sequence && latest.status != .sent && latest.status != .regist
            if resend || overtaken { return .duplicate(cancel: service.cancelRequested && !service.status.isTerminal) }
        }
        if service.status.isTerminal { return .finished }
        guard service.status.isHeld, let holder = service.sessionUUID else { return .notHeld }
        if holder != reporter { return .heldByAnotherSession(holder) }
        return .accepted(acceptance)
    }

    /// The decision when another session holds the service, given both sessions as stored (nil
    /// when one is gone): a newer session of the same cluster token (the agent authenticated
    /// again, e.g. after its JWT expired) takes over the services of the older one; any other
    /// session is refused. Other decisions are returned unchanged.
    public func decision(holder: ClusterSession?, reporter: ClusterSession?) -> Decision {
        let first = decision
        guard case .heldByAnotherSession(let holderUUID) = first else { return first }
        guard let old = holder, let new = reporter, old.uuid == holderUUID, new.uuid == self.reporter,
            old.clusterTokenUUID == new.clusterTokenUUID, new.created > old.created
        else { return .notHeld }
        return .accepted(acceptance)
    }

    /// The writes of an accepted report.
    private var acceptance: Acceptance {
        let stored = storedStatus
        var s = service
        s.sessionUUID = reporter
        s.status = stored
        s.stepSeq = report.sequence
        s.updated = now
        let step = ServiceStatusRecord(
            stepMax: s.stepMax, stepSeq: report.sequence, status: stored, started: report.started, ended: report.ended,
            message: report.error.flatMap { $0.isEmpty ? nil : $0 }, created: now)
        var canceled: ServiceStatusRecord?
        // A failure after a cancel was asked for ends the service canceled too: the claiflow agent
        // interrupts the running step when it learns of the cancel and reports it failed.
        if service.cancelRequested, !stored.isTerminal || stored == .failed {
            s.status = .canceled
            canceled = ServiceStatusRecord(
                stepMax: s.stepMax, stepSeq: report.sequence, status: .canceled, started: nil, ended: now,
                message: ServiceCancelRule.message, created: now)
        }
        return Acceptance(step: step, canceled: canceled, service: s, storesResult: isLastStep && stored == .succeeded)
    }
}
