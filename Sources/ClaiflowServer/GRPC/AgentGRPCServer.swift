import ClaiflowCore
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics
import ServiceLifecycle

/// The gRPC listener of the agent API (default port 18099), run as one of the server's services.
struct AgentGRPCServer: ServiceLifecycle.Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let transport: HTTP2ServerTransport.Posix
    let onListening: @Sendable (Int) async -> Void
    let logger: Logger
    /// `host:port` as configured, for the error when it cannot be bound.
    let configuredAddress: String

    /// The largest request accepted: a report carries a step's whole result.
    static let maxRequestSize = HTTPLimits.maxReportSize + (1 << 20)

    init(
        service: AgentGRPCService, host: String, port: Int, tls: (certificate: String, key: String)?,
        metrics: any MetricsFactory, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void
    ) {
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        let security: HTTP2ServerTransport.Posix.TransportSecurity =
            if let tls {
                .tls(
                    certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.key, format: .pem)
                )
            } else {
                .plaintext
            }
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: security,
            config: .defaults { config in
                // The original agent sends its reports gzip-compressed.
                config.compression.enabledAlgorithms = .all
                config.rpc.maxRequestPayloadSize = Self.maxRequestSize
            })
        self.transport = transport
        self.server = GRPCServer(
            transport: transport, services: [service], interceptors: [GRPCObservabilityInterceptor(metrics: metrics)])
        self.onListening = onListening
        self.logger = logger
        self.configuredAddress = "\(host):\(port)"
    }

    func run() async throws {
        // The address is known once the transport listens; wait for it apart from `serve()`,
        // because it never resolves when `serve()` stops before listening.
        let transport = self.transport
        let (logger, onListening) = (self.logger, self.onListening)
        let reporter = Task {
            guard let address = try? await transport.listeningAddress else { return }
            logger.notice("grpc listening", metadata: ["address": .string("\(address)")])
            await onListening(address.ipv4?.port ?? address.ipv6?.port ?? 0)
        }
        defer { reporter.cancel() }
        do {
            try await withGracefulShutdownHandler {
                try await server.serve()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        } catch {
            // Stopped before it started listening: not a failure.
            if Task.isShuttingDownGracefully { return }
            throw ClaiflowError(
                .unavailable, "cannot listen for gRPC on \(configuredAddress) (in use? set --grpc-port, or off): \(error)")
        }
    }
}

/// Records `claiflow_grpc_requests_total` by method and status code and
/// `claiflow_grpc_request_duration_seconds` by method.
struct GRPCObservabilityInterceptor: ServerInterceptor {
    let metrics: any MetricsFactory

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = ContinuousClock.now
        let method = context.descriptor.method
        do {
            let response = try await next(request, context)
            switch response.accepted {
            case .success: record(method, "ok", since: start)
            case .failure(let error): record(method, error.code.description, since: start)
            }
            return response
        } catch let error as RPCError {
            record(method, error.code.description, since: start)
            throw error
        } catch {
            record(method, "unknown", since: start)
            throw error
        }
    }

    private func record(_ method: String, _ code: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Counter(label: "claiflow_grpc_requests_total", dimensions: [("method", method), ("code", code)], factory: metrics)
            .increment()
        Timer(label: "claiflow_grpc_request_duration_seconds", dimensions: [("method", method)], factory: metrics)
            .record(duration: elapsed)
    }
}
