import Foundation
import Hummingbird
import HummingbirdCore
import Logging

/// Runs a Hummingbird server on 127.0.0.1 with an ephemeral port for the duration of `body`,
/// which gets the port.
///
/// - Parameters:
///   - server: The HTTP server builder (plain HTTP/1.1, or with a WebSocket upgrade).
///   - handler: Answers every request that is not upgraded.
///   - body: Runs while the server is up.
public func withLoopbackServer<T: Sendable>(
    server: HTTPServerBuilder = .http1(),
    _ handler: @escaping @Sendable (Request) async throws -> Response,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let app = Application(
        responder: CallbackResponder<BasicRequestContext> { request, _ in try await handler(request) },
        server: server,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: logger
    )
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await app.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            group.cancelAll()
            throw FakeKubernetesError("the test server did not start")
        }
        do {
            let result = try await body(port)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}
