import Hummingbird
import Logging
import Metrics

/// Records `claiflow_http_requests_total` and `claiflow_http_request_duration_seconds` by route,
/// method and status, and writes one access-log line per request.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        Self.record(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, path: request.uri.path,
            status: response.status.code, elapsed: elapsed, metrics: metrics, logger: context.logger)
        return response
    }
}

extension ObservabilityMiddleware {
    /// Records a request's metrics and writes its access-log line. (Also the agents' long
    /// poll's, answered below the middlewares: ``PollChannelHandler``.)
    static func record(
        route: String, method: String, path: String, status code: Int, elapsed: Duration, metrics: any MetricsFactory,
        logger: Logger
    ) {
        let status = String(code)
        Counter(
            label: "claiflow_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", status)], factory: metrics
        ).increment()
        Timer(
            label: "claiflow_http_request_duration_seconds", dimensions: [("route", route), ("method", method)],
            factory: metrics
        ).record(duration: elapsed)
        logger.info(
            "request",
            metadata: [
                "method": .string(method), "path": .string(path), "status": .stringConvertible(code),
                "duration_ms": .stringConvertible(elapsed / .milliseconds(1)),
            ])
    }
}
