import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Logging
import ServiceLifecycle
import Synchronization

/// The claiflow agent: connects to the server for one cluster, receives the services created
/// for it and runs their flows with the shared ``FlowEngine``, reporting every top-level step.
///
/// ```swift
/// let agent = AgentRuntime(
///     configuration: AgentConfiguration(serverURL: "https://claiflow.example.com", clusterUUID: "prod-eu-1", token: secret),
///     commands: commands, httpClient: HTTPClient.shared, logger: logger)
/// let group = ServiceGroup(services: [agent], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// Behaviour (see `docs/agent.md`):
/// - **Polling.** While it has idle workers, one long poll is open, asking for as many services
///   as there are idle workers; it never claims more than it can run.
/// - **Keep-alive.** While every worker is busy no poll is open; when the server has not heard
///   from the agent for ``AgentConfiguration/keepAliveInterval``, the agent re-sends the last
///   report of a running service, which the server ignores as a duplicate but which keeps the
///   session, and the leases of its services, alive.
/// - **Reports.** Each step is reported `processing`, then `succeeded` or `failed`, in order,
///   before the flow goes on; a report that cannot be delivered is retried with backoff for up
///   to ``AgentConfiguration/reportRetryLimit``. A 404 or 409 stops the service (the server no
///   longer wants it); `X-Claiflow-Cancel: true` stops it at once.
/// - **Cancellation and timeouts.** While services run, a cancellation watch is parked on the
///   server (`POST /api/v1/client/service/cancellations`): an operator's cancel interrupts the
///   running command within milliseconds and the step is reported failed ("canceled by an
///   operator"; the server ends the service canceled). A service with a `timeout` is stopped the
///   same way when it runs past it and reported failed ("timed out after 10m").
/// - **Server restarts.** Failed calls are retried with jittered exponential backoff; a 401
///   authenticates again. The runtime never stops by itself because the server is away.
/// - **Graceful shutdown** (``run()`` in a `ServiceGroup`, or ``stop()``): polling stops,
///   running services get ``AgentConfiguration/shutdownGrace`` to finish, the rest are
///   interrupted and reported failed ("agent shutting down: …"). Those reports get
///   ``AgentConfiguration/finalReportTimeout``; then they are abandoned (logged) and ``run()``
///   returns, so the shutdown takes at most grace + final-report time whatever the server does.
/// - **System services.** As soon as one arrives, polling stops; its step waits for the other
///   services (at most ``AgentConfiguration/rebounceWait``). `claiflow.client_pod.rebounce` then
///   succeeds and ``run()`` returns, so that the process exits and Kubernetes restarts it.
///   `claiflow.client.upgrade` has its ``AgentUpgrader`` roll the agent to the new image: once
///   the new pods are available it succeeds and ``run()`` returns (this pod is being replaced);
///   when the rollout fails (the upgrader restored the previous state) it fails and polling
///   resumes; a graceful shutdown after the change was made (the rollout replacing this pod)
///   reports it succeeded. Other services of the same poll run normally.
public final class AgentRuntime: ServiceLifecycle.Service, Sendable {
    /// The version of this agent library (`client_lib_version`): 0.3.0 and later run the flow
    /// language v2 and honour a service's `timeout`, and the server delivers v2 flows only to
    /// them (`AgentVersion.flowV2Minimum`).
    public static let libraryVersion = "0.3.0"
    /// The system command that restarts the agent.
    public static let rebounceCommand = "claiflow.client_pod.rebounce"
    /// The system command that upgrades the agent (through the runtime's ``AgentUpgrader``).
    public static let upgradeCommand = "claiflow.client.upgrade"
    /// The commands the runtime implements itself; they take precedence over given commands.
    public static let systemCommandNames: [String] = [rebounceCommand, upgradeCommand]
    /// The result of a successful rebounce (the original agent's text).
    public static let rebounceResult = "client pod rebounce will be complete"
    /// The result of a successful upgrade (the original agent's text).
    public static let upgradeResult = "client upgrade will be complete"

    /// The configuration the runtime was created with.
    public let configuration: AgentConfiguration
    let commands: [String: FlowCommand]
    let upgrader: (any AgentUpgrader)?
    private let api: AgentAPI
    private let sessions: SessionKeeper
    let logger: Logger
    let state = Mutex(State())
    let signal = StateSignal()

    /// The service whose flow the current task runs (for the system commands).
    @TaskLocal static var currentService: String?

    enum StopReason: Sendable {
        case shutdown
        /// A system service (rebounce, upgrade) succeeded: the agent makes way.
        case systemService(command: String, uuid: String)
    }

    enum Phase: Sendable {
        case created
        case running
        /// A system service is running (the uuid): no polling.
        case systemService(String)
        case stopping(StopReason)
        case stopped
    }

    struct State: Sendable {
        var phase = Phase.created
        var running: [String: ServiceRun] = [:]
        var pollTask: Task<Result<[PolledService], AgentCallError>, Never>?
        var pollInFlight = false
        var lastContact = ContinuousClock.now
        /// System services that succeeded (uuid → command): the agent stops once they are reported.
        var stopAfter: [String: String] = [:]
        /// The upgrade service whose change is in effect (the rollout is replacing this pod).
        var committedUpgrade: String?
        /// When the stop began: the shutdown grace period counts from here.
        var stopBegan: ContinuousClock.Instant?
    }

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - configuration: The server, cluster, token and tuning.
    ///   - commands: The commands flows may run, by name (e.g. `CommandCatalog.commands`).
    ///   - upgrader: What `claiflow.client.upgrade` runs (e.g. a `KubernetesAgentUpgrader`); nil
    ///     makes it fail with "no Kubernetes access configured".
    ///   - httpClient: The HTTP client to reach the server with (default the shared one; the
    ///     runtime never shuts it down).
    ///   - logger: The logger; lines carry `service_uuid`, `step`, `status`. Secrets are never logged.
    public init(
        configuration: AgentConfiguration, commands: [String: FlowCommand], upgrader: (any AgentUpgrader)? = nil,
        httpClient: HTTPClient = .shared, logger: Logger
    ) {
        self.configuration = configuration
        self.commands = commands
        self.upgrader = upgrader
        var logger = logger
        logger[metadataKey: "cluster_uuid"] = .string(configuration.clusterUUID)
        self.logger = logger
        self.api = AgentAPI(http: httpClient, configuration: configuration)
        self.sessions = SessionKeeper(api: api, logger: logger)
    }

    /// The uuids of the services running now, sorted.
    public var runningServiceUUIDs: [String] { state.withLock { $0.running.keys.sorted() } }

    /// Whether the agent holds a session with the server (it authenticated and the server has not
    /// refused the session since): what the health endpoint's `/readyz` reports.
    public var hasSession: Bool { sessions.holdsSession.withLock { $0 } }

    /// Runs the agent until a graceful shutdown (then it drains, see the type's documentation),
    /// until ``stop()``, or until a rebounce service completed. It does not return because the
    /// server is unreachable.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` for an invalid configuration, `.conflict`
    ///   when the runtime already ran.
    public func run() async throws {
        try configuration.validate()
        let first = state.withLock { s -> Bool? in
            switch s.phase {
            case .created:
                s.phase = .running
                return true
            case .stopping:
                s.phase = .stopped  // stopped before it ran
                return false
            default:
                return nil
            }
        }
        guard let first else { throw ClaiflowError(.conflict, "this AgentRuntime has already run; create a new one") }
        guard first else { return }
        logger.notice(
            "agent starting",
            metadata: [
                "server": .string(configuration.baseURL), "workers": .stringConvertible(configuration.workers),
                "version": .string(configuration.version), "commands": .stringConvertible(commands.count),
            ])
        let engine = FlowEngine(commands: allCommands())
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.keepAliveLoop() }
                group.addTask { await self.cancellationLoop() }
                await self.pollLoop(engine)
                let interruption = await self.awaitRunningServices()
                // Nothing is kept alive any more: a keep-alive in flight would hold the report
                // lock of the service it is sent for until its request timed out.
                group.cancelAll()
                if let interruption { await self.interrupt(interruption) }
                self.state.withLock { $0.phase = .stopped }
                self.signal.notify()
            }
        } onGracefulShutdown: {
            self.beginStop(.shutdown)
        }
        logger.notice("agent stopped")
    }

    /// Begins a graceful shutdown, as SIGTERM does in a `ServiceGroup`: no more polling, running
    /// services get the grace period, then ``run()`` returns.
    public func stop() { beginStop(.shutdown) }

    // MARK: - Polling

    private func pollLoop(_ engine: FlowEngine) async {
        var backoff = Backoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff)
        var failures = 0
        var unauthorizedInARow = 0
        while true {
            if Task.isCancelled { beginStop(.shutdown) }
            let seen = signal.generation
            let (phase, idle) = state.withLock { ($0.phase, configuration.workers - $0.running.count) }
            switch phase {
            case .created, .stopping, .stopped:
                return
            case .systemService:
                await signal.wait(after: seen)
                continue
            case .running:
                if idle <= 0 {
                    await signal.wait(after: seen)
                    continue
                }
            }
            switch await pollOnce(limit: idle) {
            case .success(let services):
                if failures > 0 {
                    logger.notice("connected to the server again", metadata: ["failed_attempts": .stringConvertible(failures)])
                }
                failures = 0
                unauthorizedInARow = 0
                backoff.reset()
                if !services.isEmpty { await start(services, engine) }
            case .failure(.cancelled):
                continue
            case .failure(.unauthorized(let message)):
                unauthorizedInARow += 1
                if unauthorizedInARow == 1 { continue }  // authenticate again at once
                failures += 1
                await pause(&backoff, failures, "poll refused: 401 \(message)")
            case .failure(let error):
                failures += 1
                await pause(&backoff, failures, error.description)
            }
        }
    }

    /// Waits the next backoff delay (or until the runtime stops) after a failed poll.
    private func pause(_ backoff: inout Backoff, _ failures: Int, _ error: String) async {
        let delay = backoff.next()
        if failures == 1 || failures % 10 == 0 {
            logger.warning(
                "cannot poll the server; retrying",
                metadata: [
                    "error": .string(error), "attempt": .stringConvertible(failures), "retry_in": .string(Self.format(delay)),
                ])
        }
        _ = await signal.waitUntil(deadline: .now + delay) {
            state.withLock { s in
                if case .running = s.phase { return false }
                return true
            }
        }
    }

    /// One poll (with the handshake if needed), in a task that stopping the runtime cancels.
    private func pollOnce(limit: Int) async -> Result<[PolledService], AgentCallError> {
        let wait = configuration.pollWait
        let task = sessionCall { api, session throws(AgentCallError) in try await api.poll(session, limit: limit, wait: wait) }
        let proceed = state.withLock { s -> Bool in
            guard case .running = s.phase else { return false }
            s.pollTask = task
            s.pollInFlight = true
            s.lastContact = .now
            return true
        }
        if !proceed { task.cancel() }
        let result = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        state.withLock { s in
            s.pollTask = nil
            s.pollInFlight = false
            if case .success = result { s.lastContact = .now }
        }
        return result
    }

    /// Runs `call` with the session (authenticating first when there is none) in a task of its
    /// own, which canceling ends; a 401 forgets the session, so that the next call authenticates again.
    private func sessionCall<T: Sendable>(
        _ call: @escaping @Sendable (AgentAPI, AgentSession) async throws(AgentCallError) -> T
    ) -> Task<Result<T, AgentCallError>, Never> {
        let (api, sessions) = (self.api, self.sessions)
        return Task {
            var current: AgentSession?
            do throws(AgentCallError) {
                let session = try await sessions.session()
                current = session
                return .success(try await call(api, session))
            } catch {
                if case .unauthorized = error, let current { await sessions.invalidate(current) }
                return .failure(error)
            }
        }
    }

    // MARK: - Running services

    private func start(_ services: [PolledService], _ engine: FlowEngine) async {
        logger.info(
            "services received",
            metadata: [
                "count": .stringConvertible(services.count),
                "service_uuids": .string(services.map(\.uuid).joined(separator: ",")),
            ])
        for service in services {
            let flow: Result<Flow, ClaiflowError>
            do throws(ClaiflowError) {
                flow = .success(try Flow.parse(service.flow))
            } catch {
                flow = .failure(error)
            }
            let run = ServiceRun(
                service: service, api: api, sessions: sessions, configuration: configuration, logger: logger,
                contacted: { [weak self] in self?.noteContact() })
            let system = (try? flow.get())?.steps.contains { $0.command.map(Self.systemCommandNames.contains) ?? false } ?? false
            let refusal = state.withLock { s -> String? in
                if case .stopping = s.phase { return "the agent is stopping" }
                if s.running[service.uuid] != nil { return "it is already running" }
                s.running[service.uuid] = run
                // A system service ends polling as soon as it arrives, not only when its step starts.
                if system, case .running = s.phase { s.phase = .systemService(service.uuid) }
                return nil
            }
            if let refusal {
                // Not started: the server offers it again once this session's lease lapses.
                logger.notice("service not started: \(refusal)", metadata: ["service_uuid": .string(service.uuid)])
                continue
            }
            // Detached: a service is interrupted only by the runtime (after the shutdown grace,
            // or when the server says so), never by the graceful-shutdown signal itself.
            let task = Task.detached {
                // Its timeout counts from its start here; past it the command is interrupted.
                let timer = service.timeout.map { timeout in
                    Task {
                        try? await Task.sleep(for: timeout.swiftDuration)
                        if Task.isCancelled { return }
                        let reason = "timed out after \(ServiceTimeout.short(timeout))"
                        await run.interrupt(.timedOut(reason), reason: reason)
                    }
                }
                await AgentRuntime.$currentService.withValue(service.uuid) {
                    await self.execute(service, flow, run, engine)
                }
                timer?.cancel()
                await run.settled()
                self.finished(run)
            }
            await run.attach(task)
        }
        signal.notify()
    }

    private func execute(
        _ service: PolledService, _ parsed: Result<Flow, ClaiflowError>, _ run: ServiceRun, _ engine: FlowEngine
    ) async {
        var logger = self.logger
        logger[metadataKey: "service_uuid"] = .string(service.uuid)
        logger[metadataKey: "service_name"] = .string(service.name)
        let flow: Flow
        switch parsed {
        case .success(let f):
            flow = f
        case .failure(let error):
            let now = Timestamp.now()
            logger.error("service has an invalid flow", metadata: ["error": .string(error.message)])
            await run.deliver(
                StepReport(
                    sequence: 0, stepID: "", status: .failed, error: "the service's flow is invalid: \(error.message)",
                    started: now,
                    ended: now))
            return
        }
        guard flow.stepMax > 0 else {
            let now = Timestamp.now()
            await run.deliver(
                StepReport(
                    sequence: 0, stepID: "", status: .failed, error: "the service's flow has no steps", started: now, ended: now))
            return
        }
        await run.noteStepCount(flow.stepMax)
        logger.info("service started", metadata: ["steps": .stringConvertible(flow.stepMax)])
        let outcome = await engine.run(
            flow, inputs: service.inputs, onStep: { report in await run.deliver(report) }, isCancelled: { await run.isStopped })
        // The status the server records (a service interrupted at shutdown is failed there, even
        // though the flow engine saw a cancellation).
        let cause = await run.stopCause
        var metadata: Logger.Metadata = ["status": .string(cause?.recordedStatus ?? outcome.status.rawValue)]
        if let cause { metadata["stopped"] = .string("\(cause)") }
        if let error = cause?.recordedError ?? outcome.error { metadata["error"] = .string(ServiceRun.excerpt(error)) }
        logger.info("service ended", metadata: metadata)
    }

    private func finished(_ run: ServiceRun) {
        let cancel = state.withLock { s -> Task<Result<[PolledService], AgentCallError>, Never>? in
            s.running[run.uuid] = nil
            if s.committedUpgrade == run.uuid { s.committedUpgrade = nil }
            if let command = s.stopAfter.removeValue(forKey: run.uuid) {
                switch s.phase {
                case .running, .systemService:
                    s.phase = .stopping(.systemService(command: command, uuid: run.uuid))
                    return s.pollTask
                default:
                    return nil
                }
            }
            if case .systemService(let uuid) = s.phase, uuid == run.uuid {
                s.phase = .running  // the system service did not complete (failed, canceled): carry on
            }
            return nil
        }
        cancel?.cancel()
        signal.notify()
    }

    private func noteContact() {
        state.withLock { $0.lastContact = .now }
    }

    // MARK: - Cancellation watch

    /// While services run, keeps one cancellation watch parked on the server naming them (a
    /// new one when services start); the services it answers are interrupted at once. A
    /// server without the endpoint (the original's: 404) is not asked again; operator cancels
    /// then reach the agent at its next report (`X-Claiflow-Cancel`).
    private func cancellationLoop() async {
        var backoff = Backoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff)
        var failures = 0
        while !Task.isCancelled {
            let seen = signal.generation
            var watched: [ServiceRun] = []
            for run in state.withLock({ Array($0.running.values) }) {
                if await !run.isStopped { watched.append(run) }
            }
            if watched.isEmpty {
                await signal.wait(after: seen)
                continue
            }
            let wait = configuration.pollWait
            let uuids = watched.map(\.uuid).sorted()
            let watch = sessionCall { api, session throws(AgentCallError) in
                try await api.cancellations(session, uuids: uuids, wait: wait)
            }
            // A service started meanwhile: watch the new set instead (one that ended may stay
            // named: a watch per poll batch, not per service end).
            let named = Set(uuids)
            let restart = Task {
                var seen = seen
                while !Task.isCancelled {
                    await self.signal.wait(after: seen)
                    seen = self.signal.generation
                    if self.state.withLock({ $0.running.keys.contains { !named.contains($0) } }) {
                        watch.cancel()
                        return
                    }
                }
            }
            let result = await withTaskCancellationHandler {
                await watch.value
            } onCancel: {
                watch.cancel()
            }
            restart.cancel()
            switch result {
            case .success(let canceled):
                failures = 0
                backoff.reset()
                let runs = state.withLock { s in canceled.compactMap { s.running[$0] } }
                for run in runs {
                    logger.notice("canceled by an operator: stopping the service", metadata: ["service_uuid": .string(run.uuid)])
                    await run.interrupt(.canceled, reason: "canceled by an operator")
                }
            case .failure(.cancelled):
                continue
            case .failure(.rejected(let status, let message)) where status == 404 || status == 405:
                logger.notice(
                    "the server has no cancellation watch: operator cancels take effect at the next report",
                    metadata: ["error": .string("\(status): \(message)")])
                return
            case .failure(let error):
                failures += 1
                if failures == 1 || failures % 10 == 0 {
                    logger.warning(
                        "cancellation watch failed; retrying",
                        metadata: ["error": .string(error.description), "attempt": .stringConvertible(failures)])
                }
                let delay = backoff.next()
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return
                }
            }
        }
    }

    // MARK: - Keep-alive

    /// While no poll is open (every worker busy, a rebounce, a shutdown), re-sends the last
    /// report of a running service whenever the server has not heard from the agent for
    /// `keepAliveInterval`.
    private func keepAliveLoop() async {
        var interval = keepAliveInterval
        var next = ContinuousClock.now + interval
        while true {
            do {
                // At least every second: a handshake may shorten the interval meanwhile.
                try await Task.sleep(until: min(next, .now + .seconds(1)), clock: .continuous)
            } catch {
                return
            }
            interval = keepAliveInterval
            let (last, inFlight, runs) = state.withLock { ($0.lastContact, $0.pollInFlight, Array($0.running.values)) }
            if inFlight {
                next = .now + interval
                continue
            }
            if last + interval > .now {
                next = last + interval
                continue
            }
            var reached = false
            for run in runs where await run.keepAlive() {
                reached = true
                break
            }
            if reached { logger.debug("session kept alive") }
            next = .now + interval
        }
    }

    /// ``AgentConfiguration/keepAliveInterval``, shortened to a third of the session window the
    /// server announced, so that a server with a short `ClientSession/ExpirationTime` never lets
    /// the session of a busy agent lapse.
    var keepAliveInterval: Duration {
        let configured = configuration.keepAliveInterval
        guard let window = sessions.window.withLock({ $0 }) else { return configured }
        return max(.milliseconds(100), min(configured, window / 3))
    }

    // MARK: - Stopping

    private func beginStop(_ reason: StopReason) {
        let task = state.withLock { s -> Task<Result<[PolledService], AgentCallError>, Never>?? in
            switch s.phase {
            case .stopping, .stopped:
                return nil
            case .created, .running, .systemService:
                s.phase = .stopping(reason)
                s.stopBegan = .now
                return .some(s.pollTask)
            }
        }
        guard let task else { return }
        if case .shutdown = reason { logger.notice("graceful shutdown: no more polling") }
        task?.cancel()
        signal.notify()
    }

    /// The services still running when a stop's grace period ended, and what to tell the server.
    struct Interruption: Sendable {
        let runs: [ServiceRun]
        let message: String
        /// When the final reports are given up: the stop's one deadline.
        let deadline: ContinuousClock.Instant
    }

    /// Lets running services finish within the grace period (counted from the stop's start);
    /// returns those that did not.
    ///
    /// The whole stop is bounded by one deadline, whatever the server does: the grace period
    /// (none after a system service), then ``AgentConfiguration/finalReportTimeout`` for the
    /// final reports of the interrupted services.
    private func awaitRunningServices() async -> Interruption? {
        let (reason, began) = state.withLock { s -> (StopReason, ContinuousClock.Instant) in
            let began = s.stopBegan ?? .now
            if case .stopping(let r) = s.phase { return (r, began) }
            return (.shutdown, began)
        }
        let graceEnd: ContinuousClock.Instant
        let message: String
        switch reason {
        case .shutdown:
            graceEnd = began + configuration.shutdownGrace
            message =
                "agent shutting down: the service was still running when the shutdown grace period (\(Self.format(configuration.shutdownGrace))) ended"
        case .systemService(let command, let uuid):
            graceEnd = .now
            message = "agent shutting down: restarting for \(command) (service \(uuid)); the service was still running"
        }
        let count = state.withLock { $0.running.count }
        if count > 0, case .shutdown = reason {
            logger.notice(
                "waiting for running services to finish",
                metadata: [
                    "count": .stringConvertible(count), "grace": .string(Self.format(configuration.shutdownGrace)),
                    "final_reports": .string(Self.format(configuration.finalReportTimeout)),
                ])
        }
        if await signal.waitUntil(deadline: graceEnd, { state.withLock { $0.running.isEmpty } }) { return nil }
        let remaining = state.withLock { Array($0.running.values) }
        if remaining.isEmpty { return nil }
        return Interruption(runs: remaining, message: message, deadline: graceEnd + configuration.finalReportTimeout)
    }

    /// Interrupts the services and reports them failed, each in a task of its own (the final
    /// report must go out even if ``run()`` was canceled). Returns once every report is sent or
    /// at the interruption's deadline, when the reports still pending are canceled and left to
    /// the server's lease sweep: a server that is gone, refuses, or accepts and never answers
    /// cannot hold the agent's exit.
    private func interrupt(_ interruption: Interruption) async {
        let uuids = interruption.runs.map(\.uuid).sorted()
        logger.warning(
            "interrupting services that did not finish", metadata: ["service_uuids": .string(uuids.joined(separator: ","))])
        let pending = PendingReports(uuids)
        let reported = StateSignal()
        let message = interruption.message
        let deadline = interruption.deadline
        let tasks = interruption.runs.map { run in
            Task {
                await run.abandon(message, until: deadline)
                pending.uuids.withLock { _ = $0.remove(run.uuid) }
                reported.notify()
            }
        }
        // Waited for in a task of its own too: canceling run() does not cut the reports short.
        let done = await Task { await reported.waitUntil(deadline: deadline) { pending.uuids.withLock { $0.isEmpty } } }.value
        if done { return }
        for task in tasks { task.cancel() }
        let unreported = pending.uuids.withLock { $0.sorted() }
        if unreported.isEmpty { return }
        logger.error(
            "shutdown deadline reached: final reports abandoned; the server fails these services when their leases lapse",
            metadata: [
                "service_uuids": .string(unreported.joined(separator: ",")),
                "final_reports": .string(Self.format(configuration.finalReportTimeout)),
            ])
    }

    /// A duration for messages: `30s`, `1.5s`, `250ms`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(Double(milliseconds) / 1000)s"
    }
}

/// The services whose final report is still being sent at shutdown.
private final class PendingReports: Sendable {
    let uuids: Mutex<Set<String>>

    init(_ uuids: [String]) { self.uuids = Mutex(Set(uuids)) }
}
