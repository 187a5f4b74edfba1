import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Synchronization

/// The fake's connections: HTTP/1.1 answered by the Hummingbird responder, and exec requests
/// upgraded to a WebSocket with the negotiated channel protocol.
///
/// An upgrade the fake refuses is answered with the API server's `Status` (401, 403, 404, 400),
/// as the fake answers the same request without an upgrade. (NIO's upgrade handler consumes a
/// refused upgrade request, so it cannot reach the responder; Hummingbird's own WebSocket channel
/// answers every refused upgrade with an empty 400.)
struct FakeAPIServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case exec(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, FakeKubernetesAPIServer.ExecSession)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, FakeKubernetesAPIServer.Answer)
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    /// The upgrade decision on one connection, between the upgrade handler and the pipeline change.
    private final class Decision: Sendable {
        let value = Mutex<FakeKubernetesAPIServer.UpgradeDecision?>(nil)
    }

    let responder: HTTPChannelHandler.Responder
    let fake: FakeKubernetesAPIServer

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let fake = self.fake
        return channel.eventLoop.makeCompletedFuture {
            let decision = Decision()
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: 1 << 20,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        var headers: [String: String] = [:]
                        for (name, value) in head.headers { headers[name.lowercased()] = value }
                        let path = String(head.uri.prefix { $0 != "?" })
                        let query = head.uri.firstIndex(of: "?").map { String(head.uri[head.uri.index(after: $0)...]) }
                        let decided = await fake.upgrade(path: path, query: query, headers: headers)
                        decision.value.withLock { $0 = decided }
                        guard case .accept(let session) = decided else { return nil }
                        return HTTPHeaders([("Sec-WebSocket-Protocol", session.subprotocol)])
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accept(let session)? = decision.value.withLock({ $0 }) else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        return .exec(
                            try NIOAsyncChannel(
                                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)),
                            session)
                    }
                })
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refuse(let answer)? = decision.value.withLock({ $0 }) { return .refused(http, answer) }
                        return .http(http)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
                configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        switch try? await value.negotiated.get() {
        case .http(let http)?:
            await handleHTTP(asyncChannel: http, logger: logger)
        case .refused(let http, let answer)?:
            try? await http.executeThenClose { _, outbound in
                let body = ByteBuffer(string: answer.body)
                let head = HTTPResponse(
                    status: .init(code: answer.status),
                    headerFields: [
                        .contentType: answer.contentType, .contentLength: String(body.readableBytes), .connection: "close",
                    ])
                try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
            }
        case .exec(let webSocket, let session)?:
            try? await webSocket.executeThenClose { inbound, outbound in
                try await FakeKubernetesAPIServer.runExec(session, inbound: inbound, outbound: outbound)
            }
        case nil:
            return
        }
    }
}
