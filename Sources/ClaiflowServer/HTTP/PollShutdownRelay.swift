import NIOCore

/// Tells a connection's ``PollChannelHandler`` that the server shuts down gracefully, when
/// Hummingbird's quiesce event passes on its way to the connection state handler (which does
/// not pass it on): a parked poll is then answered at once, and the state handler closes the
/// connection after that answer. (A per-connection graceful-shutdown handler would cost every
/// connection's task a frame, about a KiB each with 10,000 agents: docs/benchmarks.md.)
final class PollShutdownRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            try? context.pipeline.syncOperations.handler(type: PollChannelHandler.self).shutdown()
        }
        context.fireUserInboundEventTriggered(event)
    }
}
