import ClaiflowCore
import ClaiflowServer
import Logging
import ServiceLifecycle

/// A claiflow server started by the benchmark in its own process on a loopback port, with
/// extra services (a webhook receiver) run in the same group.
struct BenchServer {
    let app: ClaiflowServerApp
    let port: Int
    /// The gRPC port (when started `withGRPC`).
    let grpcPort: Int?
    /// `Bearer <admin token>`.
    let auth: String
    let logger: Logger
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    static func start(
        databaseURL: String, alongside extra: [any ServiceLifecycle.Service] = [], withGRPC: Bool = false
    ) async throws -> BenchServer {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.database = databaseURL
        config.adminToken = "bench-admin-token-" + Identifier.generate()
        config.logLevel = .error
        config.grpcPort = withGRPC ? 0 : nil
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let (grpcPorts, grpcContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await ClaiflowServerApp.build(
            configuration: config, logger: logger, onServerRunning: { continuation.yield($0) },
            onGRPCRunning: { grpcContinuation.yield($0) })
        let group = ServiceGroup(services: [app.application] + extra, gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw FlowBenchError("server did not start") }
        var grpcIt = grpcPorts.makeAsyncIterator()
        let grpcPort = withGRPC ? await grpcIt.next() : nil
        return BenchServer(
            app: app, port: port, grpcPort: grpcPort, auth: "Bearer \(config.adminToken ?? "")", logger: logger, group: group,
            running: running)
    }

    /// Stops the server (and the extra services) and closes the store.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
        await app.store.close()
    }
}
