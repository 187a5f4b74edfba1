import ClaiflowCore
import Hummingbird
import NIOCore

/// Who made an operator API request.
public struct Principal: Sendable, Equatable {
    /// The API key's uuid (`config` for the configured admin token).
    public var keyUUID: String
    /// The API key's name.
    public var name: String
    /// What the key may do.
    public var role: Role
}

/// The per-request context of the claiflow HTTP server.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request id (`X-Request-Id` of the request, or a generated one).
    public var requestID: String = ""
    /// The authenticated caller, once the auth middleware ran.
    public var principal: Principal?
    /// The web console session, on console pages.
    public var consoleSession: ConsoleSession?
    /// On console pages: the id of the latest status event when the request began.
    public var eventsSince: String?
    /// The request's connection (a long poll watches it for the client going away).
    public let channel: (any Channel)?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Bodies are read by the handlers with their own limit.
    public var maxUploadSize: Int { HTTPLimits.maxReportSize }
}

/// Limits of the HTTP edge.
public enum HTTPLimits {
    /// The largest request body accepted (413 above it).
    public static let maxBodySize = 1 << 20
    /// The largest step report accepted (a step's result can be a big Kubernetes list).
    public static let maxReportSize = 32 << 20
    /// The longest name accepted.
    public static let maxNameLength = 255
    /// The longest summary accepted.
    public static let maxSummaryLength = 1024
}
