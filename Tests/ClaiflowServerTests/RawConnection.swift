import NIOCore
import NIOPosix
import Synchronization

/// A raw TCP connection to a test server, for what HTTP clients hide: half-sent request heads,
/// bodies the client stops sending, and when exactly the server closes the connection.
struct RawConnection: Sendable {
    /// What the server sent until the connection ended.
    struct Ending: Sendable {
        /// Everything received, as text.
        let received: String
        /// Whether the server ended the connection (false: the wait ran out and the test closed it).
        let closedByServer: Bool
        /// How long after the connection opened it ended.
        let after: Duration
    }

    let channel: any Channel
    private let ended: EventLoopFuture<Ending>
    private let inbox: Inbox

    /// What the server sent so far.
    final class Inbox: Sendable {
        let text = Mutex("")
    }

    /// What the server sent so far, as text.
    var receivedSoFar: String { inbox.text.withLock { $0 } }

    /// Connects to `127.0.0.1:port`. With `halfClosure`, the connection stays open for sending
    /// after the server's end of stream (like a client still uploading), and it ends, for
    /// ``ending(within:)``, at that end of stream.
    static func open(port: Int, halfClosure: Bool = false) async throws -> RawConnection {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let ended = loop.makePromise(of: Ending.self)
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: halfClosure)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(ended: ended, inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, ended: ended.futureResult, inbox: inbox)
    }

    /// Sends `text` as it is; a connection the server closed already takes nothing (and that is
    /// no error: the tests look at how the connection ended).
    func send(_ text: String) async {
        try? await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Sends `count` bytes of `x` (like ``send(_:)``).
    func send(bytes count: Int) async {
        try? await channel.writeAndFlush(ByteBuffer(repeating: UInt8(ascii: "x"), count: count))
    }

    /// Waits for the server to end the connection, at most `timeout` (then closes it itself).
    func ending(within timeout: Duration) async throws -> Ending {
        let channel = self.channel
        let giveUp = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            channel.pipeline.fireUserInboundEventTriggered(Collector.GiveUp())
        }
        let ending = try await ended.get()
        giveUp.cancel()
        return ending
    }

    /// Closes the connection (ignoring that the server may have closed it already).
    func close() async {
        try? await channel.close()
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        struct GiveUp: Sendable {}

        private var received = ByteBuffer()
        private var gaveUp = false
        private var done = false
        private let opened = ContinuousClock.now
        private let ended: EventLoopPromise<Ending>
        private let inbox: Inbox

        init(ended: EventLoopPromise<Ending>, inbox: Inbox) {
            self.ended = ended
            self.inbox = inbox
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            inbox.text.withLock { $0 += String(buffer: bytes) }
            received.writeBuffer(&bytes)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is GiveUp {
                gaveUp = true
                context.close(promise: nil)
            } else if case .some(.inputClosed) = event as? ChannelEvent {
                end()
            } else {
                context.fireUserInboundEventTriggered(event)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A reset ends the connection like a close.
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            end()
        }

        private func end() {
            guard !done else { return }
            done = true
            ended.succeed(
                Ending(received: String(buffer: received), closedByServer: !gaveUp, after: ContinuousClock.now - opened))
        }
    }
}
