import Hummingbird
import Logging
import ServiceLifecycle

/// A Hummingbird server on a loopback port the OS chooses, for the receivers the tests run
/// (webhook targets): starts serving a router, tells its port, stops gracefully.
struct LoopbackServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    /// Starts serving `router` on 127.0.0.1 and returns once the port is known.
    static func start(_ router: Router<BasicRequestContext>, label: String = "receiver") async throws -> LoopbackServer {
        let (ports, cont) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: label)
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { cont.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var it = ports.makeAsyncIterator()
        return LoopbackServer(port: await it.next() ?? 0, group: group, task: task)
    }

    /// `http://127.0.0.1:PORT/hook`, the path the test receivers serve.
    var hookURL: String { "http://127.0.0.1:\(port)/hook" }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
