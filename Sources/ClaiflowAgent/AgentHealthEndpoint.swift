import Hummingbird
import Logging
import NIOCore

/// The agent's health endpoint (`--health-port`), for Kubernetes probes: `GET /healthz` answers
/// 200 while the process runs (liveness), `GET /readyz` answers 200 while the agent holds a session
/// with the server and 503 otherwise (readiness). Nothing else is served; no authentication.
///
/// ```swift
/// let health = AgentHealthEndpoint.application(port: 8098, isReady: { runtime.hasSession }, logger: logger)
/// // run it in the same ServiceGroup as the AgentRuntime
/// ```
public enum AgentHealthEndpoint {
    /// The application serving the two paths on `host:port`, to run as a service of the agent's
    /// `ServiceGroup` (it stops with the group's graceful shutdown).
    ///
    /// - Parameters:
    ///   - host: The address to listen on (all interfaces by default: the kubelet probes the pod IP).
    ///   - port: The port; 0 picks a free one (tests), reported through `onServerRunning`.
    ///   - isReady: Whether the agent is ready, asked on each `/readyz`.
    ///   - onServerRunning: Called with the bound port once the server listens.
    ///   - logger: The logger.
    public static func application(
        host: String = "0.0.0.0", port: Int, isReady: @escaping @Sendable () -> Bool,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("readyz") { _, _ in
            let ready = isReady()
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "no session with the server\n")))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
