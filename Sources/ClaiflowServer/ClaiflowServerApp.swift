import ClaiflowCore
import ClaiflowStore
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The assembled claiflow server: store, settings, authentication and the HTTP application.
public struct ClaiflowServerApp: Sendable {
    /// The store the server runs on.
    public let store: Store
    /// The parsed global variables.
    public let settings: SettingsCache
    /// The agent protocol's use cases and dispatch machinery.
    public let agents: AgentUseCases
    /// The webhook outbox sender.
    public let deliverer: WebhookDeliverer
    /// The schedules' use cases; ``ScheduleUseCases/tick(now:)`` is the scheduler's step.
    public let schedules: ScheduleUseCases
    /// The Hummingbird application; run it with `runService()`.
    public let application: Application<RouterResponder<AppRequestContext>>
    /// An admin API key generated at this start (first start without any key), to be shown once.
    public let generatedAdminKey: String?
    /// Every route the router serves, as `METHOD /path/{param}`.
    public let routes: [String]
    /// Re-seals secrets of previous encryption keys (runs at start when previous keys are set).
    public let resealer: SecretResealer
    /// The HTTP connection cap and count.
    let connections: ConnectionLimiter

    /// The HTTP connections open now, the most open at once so far, the cap, and how many were
    /// closed so far because their request head did not arrive within the header timeout.
    public var httpConnections: (open: Int, peak: Int, maximum: Int, headerTimeouts: Int) {
        (connections.openConnections, connections.peakConnections, connections.maximum, connections.headerTimeouts)
    }

    /// Opens the store, applies migrations, seeds the global variables, creates the first admin
    /// key when none exists, and builds the HTTP application. Any number of replicas may build at
    /// once on one empty PostgreSQL database. `onServerRunning` receives the bound HTTP port,
    /// `onGRPCRunning` the bound gRPC port (when gRPC is on), `onAdminKeyGenerated` the first
    /// admin key once its transaction committed, in the one replica that created it (show it there).
    public static func build(
        configuration config: ServerConfiguration, logger: Logger, checker: any FlowChecker = DefaultFlowChecker(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onGRPCRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminKeyGenerated: @Sendable (String) -> Void = { _ in }
    ) async throws -> ClaiflowServerApp {
        let registry = PrometheusCollectorRegistry()
        let metrics = PrometheusMetricsFactory(registry: registry)
        let store = try Store.open(url: config.database, logger: logger, metrics: metrics)
        do {
            let applied = try await store.migrate()
            if !applied.isEmpty { logger.notice("schema migrated", metadata: ["versions": .string("\(applied)")]) }
            let seeded = try await store.seedGlobalVariables(secret: Base64.encode(Secrets.randomBytes(32)), now: .now())
            if !seeded.isEmpty { logger.notice("global variables seeded", metadata: ["names": .string("\(seeded)")]) }
            let settings = SettingsCache()
            for problem in try await settings.reload(from: store) {
                logger.warning("invalid global variable ignored", metadata: ["problem": .string(problem)])
            }
            let authenticator = APIKeyAuthenticator(store: store, adminToken: config.adminToken)
            var key = config.encryptionKey ?? ""
            if key.isEmpty { key = try await store.installationKey(generate: { SecretBox.newKey() }) }
            let box = try SecretBox(base64Key: key, previousKeys: config.previousEncryptionKeys)
            store.useCipher(box)
            // Last of the fallible first-start steps, so that a replica that creates the key also
            // shows it: `onAdminKeyGenerated` runs right after the key's transaction committed.
            var generated: String?
            if config.adminToken == nil, let key = try await APIKeyIssuer.issueFirst(in: store) {
                generated = key
                onAdminKeyGenerated(key)
            }
            let deliverer = WebhookDeliverer(
                store: store, box: box, retryInitial: config.webhookRetryInitial.swiftDuration, logger: logger, metrics: metrics)
            let webhooks = WebhookUseCases(store: store, box: box, deliverer: deliverer)
            let hub = DispatchHub()
            let sweeper = DispatchSweeper(
                store: store, settings: settings, hub: hub, deliverer: deliverer, logger: logger, metrics: metrics,
                timeoutGrace: config.serviceTimeoutGrace)
            let keepAlive = KeepAliveBatcher(store: store, logger: logger)
            let agents = AgentUseCases(
                store: store, settings: settings, hub: hub, sweeper: sweeper, keepAlive: keepAlive, deliverer: deliverer,
                logger: logger)
            let broadcaster = EventBroadcaster()
            store.onStatusEvents { broadcaster.publish($0) }
            let events = DispatchEvents(
                hub: hub, store: store, agents: agents, deliverer: deliverer, broadcaster: broadcaster)
            let useCases = OperatorUseCases(store: store, settings: settings, authenticator: authenticator, events: events)
            let services = ServiceUseCases(store: store, checker: checker, events: events)
            let runs = RunUseCases(store: store, services: services, settings: settings, events: events)
            store.onRunProgress { released, deliveries in events.runProgressed(released: released, deliveries: deliveries) }
            let schedulerWake = WakeSignal()
            let schedules = ScheduleUseCases(
                store: store, runs: runs, readRun: { try RunController.request(RequestBody(json: $0)) }, logger: logger,
                changed: { schedulerWake.signal() })
            let consolePages = config.ui ? try await ConsolePages.load() : nil
            let router = buildRouter(
                useCases: useCases, services: services, runs: runs, agents: agents, webhooks: webhooks, registry: registry,
                metrics: metrics, config: config, schedules: schedules, broadcaster: broadcaster, consolePages: consolePages)
            let refresher = SettingsRefresher(
                cache: settings, store: store, interval: config.settingsRefreshInterval, logger: logger)
            var background: [any ServiceLifecycle.Service] = [
                refresher, keepAlive, sweeper, deliverer, EventListener(store: store, events: events, logger: logger),
                HubCloser(hub: hub), HubCloser(hub: agents.cancelWatches), BroadcasterCloser(broadcaster: broadcaster),
                Scheduler(useCases: schedules, wake: schedulerWake, logger: logger, metrics: metrics),
            ]
            let resealer = SecretResealer(store: store, box: box, logger: logger)
            if box.isRotating { background.append(resealer) }
            if let retention = config.retention {
                background.append(RetentionSweeper(store: store, retention: retention, logger: logger, metrics: metrics))
            }
            if let grpcPort = config.grpcPort {
                let tls = config.grpcTLSCertificate.flatMap { c in config.grpcTLSKey.map { (certificate: c, key: $0) } }
                background.append(
                    AgentGRPCServer(
                        service: AgentGRPCService(agents: agents, logger: logger), host: config.host, port: grpcPort, tls: tls,
                        metrics: metrics, logger: logger, onListening: onGRPCRunning))
            }
            let limiter = ConnectionLimiter(
                maximum: config.maxConnections ?? ConnectionLimiter.defaultMaximum(), logger: logger, metrics: metrics)
            let (idleTimeout, headerTimeout) = (config.idleTimeout.swiftDuration, config.headerTimeout.swiftDuration)
            let app = Application(
                router: router,
                server: .guardedHTTP1(
                    idleTimeout: idleTimeout, headerTimeout: headerTimeout, limiter: limiter,
                    // wt-m (issue 13): the agents' long poll is answered below the middlewares.
                    polls: config.pollsBelowResponder
                        ? PollAnswerer(agents: agents, metrics: metrics, logger: logger, serverName: "claiflow") : nil),
                configuration: .init(
                    address: .hostname(config.host, port: config.port), serverName: "claiflow",
                    backlog: ConnectionLimiter.listenBacklog),
                services: background,
                onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                logger: logger)
            return ClaiflowServerApp(
                store: store, settings: settings, agents: agents, deliverer: deliverer, schedules: schedules,
                application: app,
                generatedAdminKey: generated,
                routes: router.routes.map { "\($0.method.rawValue) \($0.path)" }.sorted(), resealer: resealer,
                connections: limiter)
        } catch {
            await store.close()
            throw error
        }
    }

    static func buildRouter(
        useCases: OperatorUseCases, services: ServiceUseCases, runs: RunUseCases, agents: AgentUseCases,
        webhooks: WebhookUseCases,
        registry: PrometheusCollectorRegistry,
        metrics: PrometheusMetricsFactory, config: ServerConfiguration, schedules: ScheduleUseCases,
        broadcaster: EventBroadcaster, consolePages: ConsolePages?
    ) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ObservabilityMiddleware(metrics: metrics))
        let allowed = AllowedMethods()
        router.add(middleware: ErrorMiddleware(allowed: allowed))

        let auth = useCases.authenticator
        let consoleSessions = ConsoleSessions(
            store: useCases.store, authenticator: auth, lifetime: config.uiSessionLifetime)
        // Web console (issue 16): failed requests under /ui/ answer an HTML page.
        if let consolePages {
            router.add(middleware: ConsoleErrorMiddleware(pages: consolePages, sessions: consoleSessions, allowed: allowed))
        }
        let system = SystemController(useCases: useCases, registry: registry)
        system.registerPublic(on: router)
        if config.metricsPublic {
            system.registerMetrics(on: router)
        } else {
            system.registerMetrics(
                on: router.group().add(middleware: AuthMiddleware(authenticator: auth, readRole: .viewer, writeRole: .admin)))
        }

        let api = router.group("api/v1")
        let operatorGroup = api.group().add(
            middleware: AuthMiddleware(
                authenticator: auth, readRole: .viewer, writeRole: .operator,
                sessions: consolePages == nil ? nil : consoleSessions))
        let adminGroup = api.group().add(middleware: AuthMiddleware(authenticator: auth, readRole: .admin, writeRole: .admin))
        let globalsWrite = api.group().add(middleware: AuthMiddleware(authenticator: auth, readRole: .viewer, writeRole: .admin))

        ClusterController(useCases: useCases).register(on: operatorGroup)
        ClusterTokenController(useCases: useCases).register(on: operatorGroup)
        SessionController(useCases: useCases).register(on: operatorGroup)
        TemplateController(useCases: services).register(on: operatorGroup)
        ServiceController(useCases: services).register(on: operatorGroup)
        RunController(useCases: runs).register(on: operatorGroup)
        ScheduleController(useCases: schedules).register(on: operatorGroup)
        WebhookController(webhooks: webhooks).register(on: operatorGroup)
        let globals = GlobalVariableController(useCases: useCases)
        globals.registerReads(on: operatorGroup)
        globals.registerWrites(on: globalsWrite)
        APIKeyController(useCases: useCases).register(on: adminGroup)
        AgentController(agents: agents).register(on: router)
        // Web console (issue 16): the event streams.
        EventController(broadcaster: broadcaster, heartbeat: config.eventsHeartbeat).register(on: operatorGroup)
        if let consolePages {
            ConsoleController(
                sessions: consoleSessions, broadcaster: broadcaster, pages: consolePages, operators: useCases,
                reads: ConsoleReads(store: useCases.store),
                services: services, runs: runs, webhooks: webhooks, secureCookie: config.uiSecureCookie
            ).register(on: router)
        }
        allowed.load(router.routes.map { "\($0.method.rawValue) \($0.path)" })
        return router
    }
}
