import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Watches the decoded requests and the responses of a connection for its ``ConnectionGuard``:
/// when a request head arrives (its header timeout ends), when a request ends, and when a
/// response ends, saying whether it ends the connection (`Connection: close` on the request or
/// on the response, as every `413` has: the rest of its body is never read).
final class ExchangeWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var connection: ConnectionGuard?
    /// Whether each request read and not yet answered asked to close (oldest first).
    private var closeRequested: [Bool] = []
    /// Whether the response being written ends the connection.
    private var responseCloses = false

    func handlerAdded(context: ChannelHandlerContext) {
        connection = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            closeRequested.append(Self.saysClose(head.headerFields))
            connection?.headReceived()
        case .body:
            break
        case .end:
            connection?.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.kind != .informational {
                responseCloses = responseCloses || Self.saysClose(head.headerFields)
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            let closing = responseCloses || (closeRequested.first ?? false)
            if !closeRequested.isEmpty { closeRequested.removeFirst() }
            responseCloses = false
            guard let connection else {
                context.write(data, promise: promise)
                return
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenComplete { _ in connection.responseEnded(closing: closing) }
            if let promise { written.futureResult.cascade(to: promise) }
            context.write(data, promise: written)
        }
    }

    /// Whether a `Connection` header lists `close`.
    static func saysClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.lowercased().filter { !$0.isWhitespace } == "close" }
        }
    }
}
