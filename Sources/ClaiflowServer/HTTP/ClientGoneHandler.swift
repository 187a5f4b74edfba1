import Hummingbird
import NIOCore
import Synchronization

/// Tells a parked long poll that its client went away.
///
/// Hummingbird allows remote half-closure, so a client that closes its socket only ends the
/// channel's input, and nothing reads it while a request is being handled: without this
/// handler a poll would stay parked until its wait ends, and could even claim a service for
/// an agent that no longer listens (the service would then wait for its lease to lapse).
///
/// A client that only shuts down its sending side after the request (rare for HTTP) counts as
/// gone too: its poll ends without a reply. A peer that vanishes without a FIN or RST (a dead
/// host) is noticed only when the poll's wait ends.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Never

    /// The connection's watch, shared with the requests handled on it.
    let watch = ConnectionWatch()

    func handlerRemoved(context: ChannelHandlerContext) {
        watch.markGone()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { watch.markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.markGone()
        context.fireChannelInactive()
    }

    /// Runs `operation` until it ends or the client of `channel` goes away (then it is cancelled).
    static func untilClientGone<T: Sendable>(
        _ channel: (any Channel)?, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let channel else { return try await operation() }
        guard let watch = await watch(of: channel) else {
            // Closing a channel removes its handlers: the client is already gone.
            if !channel.isActive { throw CancellationError() }
            return try await operation()
        }
        let task = Task { try await operation() }
        let id = watch.onGone { task.cancel() }
        defer { if let id { watch.remove(id) } }
        return try await task.valueCancellingWithCaller()
    }
}

extension ClientGoneHandler {
    /// The watch of a connection; nil when the channel has no ``ClientGoneHandler`` (any more).
    static func watch(of channel: any Channel) async -> ConnectionWatch? {
        try? await channel.eventLoop.submit({
            try channel.pipeline.syncOperations.handler(type: ClientGoneHandler.self).watch
        }).get()
    }
}

/// Whether a connection's client is gone, and who wants to know.
final class ConnectionWatch: Sendable {
    private struct State {
        var gone = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// Calls `action` when the client goes away (at once if it has); returns the id that
    /// ``remove(_:)`` takes, or nil when it was called at once.
    func onGone(_ action: @escaping @Sendable () -> Void) -> UInt64? {
        let id = state.withLock { s -> UInt64? in
            if s.gone { return nil }
            s.nextID += 1
            s.waiters[s.nextID] = action
            return s.nextID
        }
        if id == nil { action() }
        return id
    }

    func remove(_ id: UInt64) { state.withLock { _ = $0.waiters.removeValue(forKey: id) } }

    func markGone() {
        let waiters = state.withLock { s -> [@Sendable () -> Void] in
            s.gone = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w() }
    }
}
