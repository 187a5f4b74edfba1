import ClaiflowCore
import ClaiflowFlow
import Logging

/// One service being run: sends its step reports in order (retrying while the server is
/// unreachable), knows whether it must stop, and can report itself failed when the agent stops.
actor ServiceRun {
    /// Why a service stopped before its flow ended by itself.
    enum StopCause: Sendable, Equatable {
        /// An operator canceled it (`X-Claiflow-Cancel: true`); the server ended it canceled.
        case canceled
        /// The server refused a report (404/409/400): it no longer wants this service's reports.
        case refused(String)
        /// A report could not be delivered within the retry limit.
        case gaveUp(String)
        /// The agent stopped (shutdown, rebounce) and reported it failed.
        case abandoned(String)
        /// It ran past its `timeout`: the agent stopped it and reported it failed.
        case timedOut(String)

        /// The status the server records for a service stopped this way, when the agent knows
        /// it: `failed` for an interrupted service (reported failed, or failed by the server when
        /// its lease lapses), `canceled` for an operator's cancel; nil when the server decided
        /// (a refused report) or a report was given up.
        var recordedStatus: String? {
            switch self {
            case .canceled: "canceled"
            case .abandoned, .timedOut: "failed"
            case .refused, .gaveUp: nil
            }
        }

        /// The error the server records with ``recordedStatus``, when the agent sent it.
        var recordedError: String? {
            switch self {
            case .abandoned(let reason), .timedOut(let reason): reason
            case .canceled, .refused, .gaveUp: nil
            }
        }
    }

    /// What a send did.
    private enum SendResult {
        case delivered(cancel: Bool)
        case refused(String)
        case rejected(String)
        case gaveUp(String)
        case interrupted
    }

    nonisolated let uuid: String
    nonisolated let name: String
    /// The number of top-level steps (the server's `step_max`, or the flow's).
    private var stepMax: Int
    private let api: AgentAPI
    private let sessions: SessionKeeper
    private let configuration: AgentConfiguration
    private let logger: Logger
    /// Called after every successful contact with the server.
    private let contacted: @Sendable () -> Void

    private var delivered: StepReport?
    private(set) var stopCause: StopCause?
    private var task: Task<Void, Never>?
    private var busy = false
    private var lockWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var lastSent: ContinuousClock.Instant = .now
    private var cancelNoticed = false
    /// The report of an ``interrupt(_:reason:)`` being sent.
    private var interruption: Task<Void, Never>?

    init(
        service: PolledService, api: AgentAPI, sessions: SessionKeeper, configuration: AgentConfiguration, logger: Logger,
        contacted: @escaping @Sendable () -> Void
    ) {
        self.uuid = service.uuid
        self.name = service.name
        self.stepMax = service.stepMax ?? 0
        self.api = api
        self.sessions = sessions
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "service_uuid"] = .string(service.uuid)
        logger[metadataKey: "service_name"] = .string(service.name)
        self.logger = logger
        self.contacted = contacted
    }

    /// The task running the service (to interrupt it).
    func attach(_ task: Task<Void, Never>) { self.task = task }

    /// The flow's step count, when the server did not say.
    func noteStepCount(_ count: Int) { if stepMax <= 0 { stepMax = count } }

    /// Whether the flow must stop at its next step boundary.
    var isStopped: Bool { stopCause != nil }

    /// Sends a step report (the flow engine's `onStep`): in order, retried with backoff while
    /// the server is unreachable, then acts on the reply.
    func deliver(_ report: StepReport) async {
        guard stopCause == nil else { return }
        await lock()
        defer { unlock() }
        guard stopCause == nil else { return }
        var metadata: Logger.Metadata = [
            "step": .string(report.stepID), "sequence": .stringConvertible(report.sequence),
            "status": .string(Self.name(report.status)),
        ]
        if report.status == .failed { metadata["error"] = .string(Self.excerpt(report.error)) }
        logger.info("step \(Self.name(report.status))", metadata: metadata)
        let result = await send(report, until: .now + configuration.reportRetryLimit)
        switch result {
        case .delivered(cancel: false):
            break
        case .delivered(cancel: true):
            stopCause = .canceled
            logger.notice("canceled by an operator: stopping the service", metadata: metadata)
            // The server has ended the service: a step that is only starting must not run.
            if report.status == .processing { task?.cancel() }
        case .refused(let message):
            stop(.refused(message), "the server refused the report; stopping the service", metadata, message)
        case .rejected(let message):
            if report.status == .succeeded {
                // A result the server cannot take (too large, say): fail the step instead.
                var failed = report
                failed.status = .failed
                failed.result = ""
                failed.error = "the server refused the step's result: \(message)"
                _ = await send(failed, until: .now + configuration.finalReportTimeout)
            }
            stop(.refused(message), "the server rejected the report; stopping the service", metadata, message)
        case .gaveUp(let message):
            stop(.gaveUp(message), "could not deliver the report; giving the service up", metadata, message)
        case .interrupted:
            break
        }
    }

    private func stop(_ cause: StopCause, _ text: Logger.Message, _ metadata: Logger.Metadata, _ message: String) {
        stopCause = cause
        var metadata = metadata
        metadata["error"] = .string(message)
        logger.warning(text, metadata: metadata)
        task?.cancel()
    }

    /// Re-sends the last delivered report once, unless a report is being sent: the server
    /// ignores it as a duplicate but it keeps the session and its leases alive. Returns whether
    /// the server was reached.
    func keepAlive() async -> Bool {
        guard !busy, stopCause == nil, let last = delivered else { return false }
        busy = true
        defer { unlock() }
        let result = await send(last, until: .now, quiet: true)
        switch result {
        case .delivered(let cancel):
            if cancel && !cancelNoticed {
                cancelNoticed = true
                logger.notice("an operator canceled the service: it stops at its next report")
            }
            return true
        case .refused(let message):
            stop(.refused(message), "the server no longer holds the service for this agent; stopping it", [:], message)
            return true
        case .rejected, .gaveUp, .interrupted:
            return false
        }
    }

    /// Interrupts the service and reports it failed with `reason` (unless it already ended),
    /// e.g. when the shutdown grace period is over. The report is retried until `deadline`;
    /// canceling the calling task abandons it at once (the runtime does so at its shutdown
    /// deadline, and logs it).
    func abandon(_ reason: String, until deadline: ContinuousClock.Instant) async {
        guard stopCause == nil else { return }
        stopCause = .abandoned(reason)
        task?.cancel()
        await reportInterrupted(reason, until: deadline)
    }

    /// Stops the service now for `cause` (an operator's cancel the agent learned of from its
    /// cancellation watch, or its timeout): its task is canceled, which interrupts a running
    /// command, and its current step is reported failed with `reason` in a task of its own
    /// (retried as any report; ``settled()`` waits for it). Does nothing once it stopped.
    func interrupt(_ cause: StopCause, reason: String) {
        guard stopCause == nil else { return }
        stopCause = cause
        task?.cancel()
        logger.notice("stopping the service", metadata: ["error": .string(reason)])
        let deadline = ContinuousClock.now + configuration.reportRetryLimit
        interruption = Task { await self.reportInterrupted(reason, until: deadline) }
    }

    /// Returns once the report of an ``interrupt(_:reason:)`` was sent or given up.
    func settled() async { await interruption?.value }

    /// Reports the step that was running (or the next one) failed with `reason`, unless the
    /// service already ended.
    private func reportInterrupted(_ reason: String, until deadline: ContinuousClock.Instant) async {
        await lock()
        defer { unlock() }
        let now = Timestamp.now()
        let report: StepReport
        switch delivered {
        case nil:
            report = StepReport(sequence: 0, stepID: "", status: .failed, error: reason, started: now, ended: now)
        case let last? where last.status == .processing:
            report = StepReport(
                sequence: last.sequence, stepID: last.stepID, status: .failed, error: reason, started: last.started, ended: now)
        case let last? where last.status == .succeeded && last.sequence + 1 < stepMax:
            report = StepReport(sequence: last.sequence + 1, stepID: "", status: .failed, error: reason, started: now, ended: now)
        default:
            return  // it already ended
        }
        logger.warning(
            "interrupting the service", metadata: ["sequence": .stringConvertible(report.sequence), "error": .string(reason)])
        let result = await send(report, until: deadline)
        switch result {
        case .delivered, .interrupted:
            return
        case .refused, .rejected, .gaveUp:
            logger.error("could not report the interrupted service; the server will fail it when its lease lapses")
        }
    }

    /// Sends one report, retrying until `deadline` while the server is unreachable (or the
    /// handshake fails). A 401 re-authenticates at once.
    private func send(_ report: StepReport, until deadline: ContinuousClock.Instant, quiet: Bool = false) async -> SendResult {
        var backoff = Backoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff)
        var attempt = 0
        var reauthenticated = false
        while true {
            attempt += 1
            var failure = ""
            var current: AgentSession?
            do throws(AgentCallError) {
                current = try await sessions.session()
            } catch {
                if case .cancelled = error, Task.isCancelled { return .interrupted }
                failure = "handshake failed: \(error.description)"
            }
            if let session = current {
                do throws(AgentCallError) {
                    let cancel = try await api.report(session, uuid: uuid, report)
                    delivered = report
                    lastSent = .now
                    contacted()
                    if attempt > 1 {
                        logger.notice("report delivered after retrying", metadata: ["attempts": .stringConvertible(attempt)])
                    }
                    return .delivered(cancel: cancel)
                } catch {
                    switch error {
                    case .unauthorized(let message):
                        await sessions.invalidate(session)
                        failure = "401: \(message)"
                        if !reauthenticated {
                            reauthenticated = true
                            continue
                        }
                    case .refused(let status, let message):
                        return .refused("\(status): \(message)")
                    case .rejected(let status, let message):
                        return .rejected("\(status): \(message)")
                    case .cancelled:
                        if Task.isCancelled { return .interrupted }
                        failure = "canceled"
                    case .unavailable(let message):
                        failure = message
                    }
                }
            }
            if Task.isCancelled { return .interrupted }
            let delay = backoff.next()
            if ContinuousClock.now + delay > deadline {
                return quiet ? .interrupted : .gaveUp(failure)
            }
            if !quiet && (attempt == 1 || attempt % 10 == 0) {
                logger.warning(
                    "report failed; retrying",
                    metadata: [
                        "sequence": .stringConvertible(report.sequence), "error": .string(failure),
                        "attempt": .stringConvertible(attempt),
                        "retry_in": .string(AgentRuntime.format(delay)),
                    ])
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return .interrupted
            }
        }
    }

    // MARK: A lock so that reports of one service are sent one at a time, in order.

    private func lock() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { lockWaiters.append($0) }
    }

    private func unlock() {
        if lockWaiters.isEmpty {
            busy = false
        } else {
            lockWaiters.removeFirst().resume()
        }
    }

    static func name(_ status: StepStatus) -> String {
        switch status {
        case .processing: "processing"
        case .succeeded: "succeeded"
        case .failed: "failed"
        }
    }

    static func excerpt(_ text: String) -> String {
        text.count > 1000 ? String(text.prefix(1000)) + "…" : text
    }
}
