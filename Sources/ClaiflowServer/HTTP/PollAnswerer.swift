import Logging
import Metrics

/// What answering the agents' long polls below the responder chain needs, shared by every
/// connection's ``PollChannelHandler``.
struct PollAnswerer: Sendable {
    /// The poll route's path, as the request metrics name it.
    static let path = "/api/v1/client/service"

    /// The agent protocol's use cases.
    let agents: AgentUseCases
    /// Where `claiflow_http_requests_total` and its duration go.
    let metrics: any MetricsFactory
    /// The application's logger (a request's logger is it with the request id).
    let logger: Logger
    /// The `Server` header of every response.
    let serverName: String
}
