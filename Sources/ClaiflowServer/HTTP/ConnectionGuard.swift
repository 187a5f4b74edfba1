import Logging
import NIOCore

/// The first handler of every HTTP connection (it sees the raw bytes, before the HTTP decoder).
///
/// - It admits the connection under the cap of a ``ConnectionLimiter``; past the cap it answers
///   `503` at once and ends the connection (as below).
/// - It closes a connection whose request head does not arrive within the header timeout: from
///   the connection's start, and from the first byte of each later request (the wait for that
///   first byte is the idle timeout's business). A request being handled (a parked long poll)
///   is never timed out here.
/// - After a response that ends the connection (``ExchangeWatcher`` reports it: `Connection:
///   close` on the request or the response, such as a `413`), it shuts the sending side, discards
///   whatever the client still sends (so a client still uploading finishes and reads the response
///   instead of a reset), and closes the connection when the client closes its side, when the
///   client has sent nothing for the linger timeout, or at the latest after five linger timeouts.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limiter: ConnectionLimiter
    private let headerTimeout: TimeAmount
    private let lingerTimeout: TimeAmount
    private let logger: Logger

    private var context: ChannelHandlerContext?
    private var admitted = false
    private var refused = false
    private var lingering = false
    /// No request head is being decoded or handled: the next bytes start a request.
    private var awaitingHead = true
    /// Requests whose head arrived and whose response has not ended.
    private var inFlight = 0
    /// Bytes of the next request arrived while a response was still being written.
    private var pipelinedBytes = false
    private var headTimer: Scheduled<Void>?
    private var lingerTimer: Scheduled<Void>?
    /// When lingering began, and when the client last sent something since.
    private var lingerStart = NIODeadline.now()
    private var lastDiscarded = NIODeadline.now()

    init(limiter: ConnectionLimiter, headerTimeout: TimeAmount, lingerTimeout: TimeAmount, logger: Logger) {
        self.limiter = limiter
        self.headerTimeout = headerTimeout
        self.lingerTimeout = lingerTimeout
        self.logger = logger
    }

    /// The answer to a connection past the cap.
    static let refusal: String = {
        let body = "{\"code\":503,\"message\":\"too many connections; retry later\"}\n"
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=UTF-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body
    }()

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        releaseSlot()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        admitted = limiter.admit()
        context.fireChannelActive()
        if admitted {
            armHeadTimer()
        } else {
            // Answer, then end like any closing response: the client reads the 503, not a reset.
            refused = true
            context.writeAndFlush(NIOAny(ByteBuffer(string: Self.refusal)), promise: nil)
            startLingering()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        releaseSlot()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused or finished connection: nothing the client sends matters any more.
        if refused || lingering {
            lastDiscarded = .now()
            return
        }
        if awaitingHead, headTimer == nil {
            if inFlight == 0 { armHeadTimer() } else { pipelinedBytes = true }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // While lingering nobody above asks for more: keep reading (and discarding).
        if lingering { context.read() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if lingering, case .some(.inputClosed) = event as? ChannelEvent {
            // The client read the response and closed: done.
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: What ``ExchangeWatcher`` reports

    /// A request head arrived.
    func headReceived() {
        awaitingHead = false
        inFlight += 1
        pipelinedBytes = false
        headTimer?.cancel()
        headTimer = nil
    }

    /// A request's body ended: the next bytes begin the next request.
    func requestEnded() {
        awaitingHead = true
    }

    /// A response's last part was written; `closing` when the connection ends with it.
    func responseEnded(closing: Bool) {
        inFlight = max(0, inFlight - 1)
        if closing {
            startLingering()
        } else if inFlight == 0, awaitingHead, pipelinedBytes, headTimer == nil {
            pipelinedBytes = false
            armHeadTimer()
        }
    }

    // MARK: Internals

    private func armHeadTimer() {
        guard let context, headTimer == nil, !lingering else { return }
        headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [self] in
            headTimer = nil
            guard awaitingHead, inFlight == 0, !lingering, let context = self.context else { return }
            limiter.noteHeaderTimeout()
            logger.debug(
                "connection closed: no request head within the header timeout",
                metadata: ["peer": .string(context.remoteAddress?.description ?? "?")])
            context.close(promise: nil)
        }
    }

    private func startLingering() {
        guard let context, !lingering else { return }
        lingering = true
        headTimer?.cancel()
        headTimer = nil
        // End the response stream for the client (a FIN after the response), keep reading.
        context.close(mode: .output, promise: nil)
        context.read()
        lingerStart = .now()
        lastDiscarded = lingerStart
        scheduleLingerCheck(at: lingerStart + lingerTimeout)
    }

    private func scheduleLingerCheck(at deadline: NIODeadline) {
        guard let context else { return }
        lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            lingerTimer = nil
            let quietUntil = lastDiscarded + lingerTimeout
            let latest = lingerStart + lingerTimeout * 5
            if quietUntil > .now(), quietUntil < latest {
                scheduleLingerCheck(at: quietUntil)
            } else {
                self.context?.close(promise: nil)
            }
        }
    }

    private func cancelTimers() {
        headTimer?.cancel()
        headTimer = nil
        lingerTimer?.cancel()
        lingerTimer = nil
    }

    private func releaseSlot() {
        if admitted {
            admitted = false
            limiter.release()
        }
    }
}
