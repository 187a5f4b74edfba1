import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with a ``ConnectionGuard`` in front of its decoder and an
/// ``ExchangeWatcher`` behind it: the connection cap, the header timeout and the close after a
/// response that ends the connection (Hummingbird's own idle timeout closes idle keep-alive
/// connections).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    /// The HTTP/1.1 channel doing the work.
    let http1: HTTP1Channel
    /// The connection cap, shared by every connection.
    let limiter: ConnectionLimiter
    /// How long a request head may take to arrive.
    let headerTimeout: Duration
    /// How long a connection is kept, discarding input, after a response that ends it.
    let lingerTimeout: Duration
    /// Answers the agents' long polls below the responder (``PollChannelHandler``); nil: the router does.
    let polls: PollAnswerer?

    /// An HTTP/1.1 channel answering with `responder`.
    init(
        responder: @escaping HTTPChannelHandler.Responder, idleTimeout: Duration, headerTimeout: Duration,
        lingerTimeout: Duration = .seconds(2), limiter: ConnectionLimiter, polls: PollAnswerer? = nil
    ) {
        self.polls = polls
        self.http1 = HTTP1Channel(
            responder: polls == nil ? responder : Self.agentCallsInChildTasks(responder),
            configuration: .init(
                additionalChannelHandlers: [ClientGoneHandler(), ExchangeWatcher()] + (polls == nil ? [] : [PollShutdownRelay()]),
                idleTimeout: TimeAmount(idleTimeout)))
        self.limiter = limiter
        self.headerTimeout = headerTimeout
        self.lingerTimeout = lingerTimeout
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limiter = self.limiter
        let (header, linger) = (TimeAmount(headerTimeout), TimeAmount(lingerTimeout))
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(limiter: limiter, headerTimeout: header, lingerTimeout: linger, logger: logger))
        }.flatMap { self.http1.setup(channel: channel, logger: logger) }.flatMapThrowing { value in
            if let polls = self.polls {
                // Behind the connection state handler, so that it counts a poll as a request in progress.
                let pipeline = channel.pipeline.syncOperations
                let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
                try pipeline.addHandler(PollChannelHandler(polls), position: .after(state))
            }
            return value
        }
    }

    /// `responder`, answering the agent protocol's calls (`/api/v1/client/…`) in a child task:
    /// an agent's connection lives as long as the agent, and its task would otherwise keep the
    /// memory the deepest call on it ever needed (a report through the middlewares, tens of KiB
    /// of task allocator slabs: ``ChildTask``) while it waits for its next poll.
    static func agentCallsInChildTasks(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            guard request.uri.path.hasPrefix("/api/v1/client/") else { return try await responder(request, writer, channel) }
            let box = WriterBox(writer)
            try await ChildTask.run {
                guard let writer = box.take() else { return }
                try await responder(request, writer, channel)
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// An HTTP/1.1 server whose connections are guarded by a ``ConnectionGuard``: at most
    /// `limiter.maximum` open, request heads within `headerTimeout`, closed after `idleTimeout`
    /// without a request in progress.
    /// `polls` answers the agents' long polls below the responder (``PollChannelHandler``).
    static func guardedHTTP1(
        idleTimeout: Duration, headerTimeout: Duration, limiter: ConnectionLimiter, polls: PollAnswerer? = nil
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                responder: responder, idleTimeout: idleTimeout, headerTimeout: headerTimeout, limiter: limiter, polls: polls)
        }
    }
}

/// Hands a request's response writer (not copyable) to the child task answering the request;
/// the caller waits for that task, so one task at a time uses it.
private final class WriterBox: @unchecked Sendable {
    private var writer: ResponseWriter?

    init(_ writer: consuming ResponseWriter) {
        self.writer = consume writer
    }

    /// The writer, once.
    func take() -> ResponseWriter? {
        writer.take()
    }
}
