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
        let route = context.endpointPath ?? "unmatched"
        let status = String(response.status.code)
        let method = request.method.rawValue
        Counter(
            label: "claiflow_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", status)], factory: metrics
        ).increment()
        Timer(
            label: "claiflow_http_request_duration_seconds", dimensions: [("route", route), ("method", method)],
            factory: metrics
        ).record(duration: elapsed)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(method), "path": .string(request.uri.path), "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible(elapsed / .milliseconds(1)),
            ])
        return response
    }
}
