import ClaiflowCore
import Foundation

/// How an ``AgentRuntime`` connects to its server and runs services.
///
/// Only ``serverURL``, ``clusterUUID`` and ``token`` are required; the rest have defaults that
/// suit a server with the default `ClientSession/ExpirationTime` (1 minute).
///
/// ```swift
/// var configuration = AgentConfiguration(serverURL: "https://claiflow.example.com", clusterUUID: "prod-eu-1", token: secret)
/// configuration.workers = 8
/// ```
public struct AgentConfiguration: Sendable, CustomStringConvertible {
    /// The server's base URL, e.g. `https://claiflow.example.com` (a trailing `/` is ignored;
    /// a path prefix such as `https://host/claiflow` is kept).
    public var serverURL: String
    /// The cluster this agent serves (the cluster's uuid on the server).
    public var clusterUUID: String
    /// The cluster token's secret (the handshake's `assertion`). Never logged.
    public var token: String
    /// How many services run at once (default 4). The agent never claims more services than it
    /// has idle workers.
    public var workers: Int
    /// The agent's version, sent as `client_version` in the handshake (shown in the session list).
    public var version: String
    /// The library version, sent as `client_lib_version`.
    public var libraryVersion: String
    /// How long a poll parks on the server when there is no work (default 30 s; the server caps
    /// it at 60 s and at half of `ClientSession/ExpirationTime`).
    public var pollWait: Duration
    /// While every worker is busy no poll is open, so the agent re-sends the last report of a
    /// running service (the server ignores it as a duplicate, but it keeps the session and the
    /// leases of its services alive) when it has not contacted the server for this long
    /// (default 15 s; keep it well under a third of `ClientSession/ExpirationTime`).
    public var keepAliveInterval: Duration
    /// On graceful shutdown, how long running services may take to finish before they are
    /// interrupted and reported failed (default 30 s).
    public var shutdownGrace: Duration
    /// A `claiflow.client_pod.rebounce` or `claiflow.client.upgrade` service waits at most this
    /// long for the other running services to finish before it goes ahead (default 30 s).
    public var rebounceWait: Duration
    /// The first delay before reconnecting after a failed call; it doubles up to
    /// ``maximumBackoff`` and is jittered (default 0.5 s).
    public var initialBackoff: Duration
    /// The longest delay between reconnection or report attempts (default 30 s).
    public var maximumBackoff: Duration
    /// How long a step report is retried (the server being down or restarting) before the agent
    /// gives the service up (default 10 minutes). The server fails a service whose agent stopped
    /// reporting for `ClientSession/ExpirationTime` anyway.
    public var reportRetryLimit: Duration
    /// How long the final "failed" reports of the services interrupted at shutdown may take
    /// (default 10 s); then they are abandoned and the runtime returns. A shutdown therefore
    /// lasts at most ``shutdownGrace`` plus this, whether the server answers, refuses or hangs.
    public var finalReportTimeout: Duration
    /// The timeout of a handshake or report request (default 60 s); a poll gets ``pollWait``
    /// plus this.
    public var requestTimeout: Duration

    /// Creates a configuration with the defaults.
    public init(
        serverURL: String, clusterUUID: String, token: String, workers: Int = 4, version: String = AgentRuntime.libraryVersion,
        libraryVersion: String = AgentRuntime.libraryVersion, pollWait: Duration = .seconds(30),
        keepAliveInterval: Duration = .seconds(15), shutdownGrace: Duration = .seconds(30), rebounceWait: Duration = .seconds(30),
        initialBackoff: Duration = .milliseconds(500), maximumBackoff: Duration = .seconds(30),
        reportRetryLimit: Duration = .seconds(600), finalReportTimeout: Duration = .seconds(10),
        requestTimeout: Duration = .seconds(60)
    ) {
        self.serverURL = serverURL
        self.clusterUUID = clusterUUID
        self.token = token
        self.workers = workers
        self.version = version
        self.libraryVersion = libraryVersion
        self.pollWait = pollWait
        self.keepAliveInterval = keepAliveInterval
        self.shutdownGrace = shutdownGrace
        self.rebounceWait = rebounceWait
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.reportRetryLimit = reportRetryLimit
        self.finalReportTimeout = finalReportTimeout
        self.requestTimeout = requestTimeout
    }

    /// The server URL without a trailing `/`.
    var baseURL: String {
        var url = serverURL.trimmingCharacters(in: .whitespaces)
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// Checks the values; the error names the setting and what is wrong.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument`.
    public func validate() throws(ClaiflowError) {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, url.query == nil
        else {
            throw ClaiflowError(.invalidArgument, "server: must be an http:// or https:// URL with a host, got \"\(serverURL)\"")
        }
        guard !clusterUUID.isEmpty, clusterUUID.count <= 64 else {
            throw ClaiflowError(.invalidArgument, "cluster: the cluster uuid is required (at most 64 characters)")
        }
        guard !token.isEmpty, token.count <= 255 else {
            throw ClaiflowError(.invalidArgument, "token: the cluster token secret is required (at most 255 characters)")
        }
        guard (1...1000).contains(workers) else {
            throw ClaiflowError(.invalidArgument, "workers: must be from 1 to 1000, got \(workers)")
        }
        guard version.count <= 64, libraryVersion.count <= 64 else {
            throw ClaiflowError(.invalidArgument, "version: at most 64 characters")
        }
        for (name, value) in [
            ("pollWait", pollWait), ("keepAliveInterval", keepAliveInterval), ("initialBackoff", initialBackoff),
            ("maximumBackoff", maximumBackoff), ("requestTimeout", requestTimeout), ("finalReportTimeout", finalReportTimeout),
        ] where value <= .zero {
            throw ClaiflowError(.invalidArgument, "\(name): must be positive")
        }
        for (name, value) in [
            ("shutdownGrace", shutdownGrace), ("rebounceWait", rebounceWait), ("reportRetryLimit", reportRetryLimit),
        ]
        where value < .zero {
            throw ClaiflowError(.invalidArgument, "\(name): must not be negative")
        }
    }

    /// The settings with the token redacted.
    public var description: String {
        "AgentConfiguration(server: \(baseURL), cluster: \(clusterUUID), token: ********, workers: \(workers), version: \(version), "
            + "pollWait: \(pollWait), keepAliveInterval: \(keepAliveInterval), shutdownGrace: \(shutdownGrace))"
    }
}
