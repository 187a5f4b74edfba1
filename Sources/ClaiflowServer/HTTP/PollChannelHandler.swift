import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Answers the agents' long poll (`GET /api/v1/client/service`) in the connection's pipeline,
/// below Hummingbird's responder chain, so that a parked poll keeps no suspended task: the
/// connection's task waits for its next request as if idle, and the poll is a ``ParkedPoll``
/// in the ``DispatchHub`` (10,000 parked agents: docs/benchmarks.md).
///
/// It sits behind Hummingbird's `HTTPConnectionStateHandler`, which therefore counts the poll as
/// a request in progress (no idle timeout while parked; after a graceful shutdown's quiesce, the
/// connection closes once the poll is answered), and a ``PollExchange`` does what the
/// middlewares and the route's handler do for it (request id, access log and metrics, errors).
/// Any other request, and a poll that arrives while a request passed on is unanswered, is passed
/// on; requests pipelined behind a poll are held until the poll is answered.
final class PollChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The most request parts held behind a poll before the connection is closed.
    static let maxHeld = 64

    private enum Reading {
        case idle
        case passing
        case poll(HTTPRequest)
    }

    private let answerer: PollAnswerer
    private var reading = Reading.idle
    /// Requests passed on and not answered yet.
    private var passedOn = 0
    /// The poll being answered.
    private var exchange: PollExchange?
    /// Parts pipelined behind the poll being answered.
    private var held: [HTTPRequestPart] = []
    private var shuttingDown = false
    private var context: ChannelHandlerContext?

    init(_ answerer: PollAnswerer) {
        self.answerer = answerer
    }

    /// Whether a request head is the long poll.
    static func isPoll(_ head: HTTPRequest) -> Bool {
        guard head.method == .get, let target = head.path else { return false }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return path == PollAnswerer.path
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // The connection closed: a parked poll frees its slot now.
        exchange?.cancel()
        exchange = nil
        held = []
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if exchange != nil {
            held.append(part)
            if held.count > Self.maxHeld { context.close(promise: nil) }
            return
        }
        switch reading {
        case .poll(let head):
            // A poll's body, if any, is ignored (as the route's handler does).
            if case .end = part {
                reading = .idle
                begin(head, context: context)
            }
        case .passing:
            if case .end = part { reading = .idle }
            context.fireChannelRead(data)
        case .idle:
            if case .head(let head) = part {
                if passedOn == 0, Self.isPoll(head) {
                    reading = .poll(head)
                    return
                }
                passedOn += 1
                reading = .passing
            }
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // (At least 0: a response to a request that never parsed, Hummingbird's 400, ends one too.)
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its side: it is gone (``ClientGoneHandler`` explains why).
        if case .some(.inputClosed) = event as? ChannelEvent { exchange?.cancel() }
        context.fireUserInboundEventTriggered(event)
    }

    /// The server shuts down gracefully: a parked poll is answered now (with `[]`), and so is
    /// any poll that arrives later on this connection.
    func shutdown() {
        shuttingDown = true
        exchange?.shutdown()
    }

    private func begin(_ head: HTTPRequest, context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let exchange = PollExchange(answerer: answerer, head: head) { exchange, head, body in
            loop.execute { handler.value.answer(exchange, head: head, body: body) }
        }
        self.exchange = exchange
        if shuttingDown { exchange.shutdown() }
    }

    private func answer(_ answered: PollExchange, head: HTTPResponse, body: ByteBuffer) {
        guard let context, exchange === answered else { return }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        exchange = nil
        guard !held.isEmpty else { return }
        let parts = held
        held = []
        for part in parts { channelRead(context: context, data: wrapInboundOut(part)) }
        context.fireChannelReadComplete()
    }
}
