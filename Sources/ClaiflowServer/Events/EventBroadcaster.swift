import ClaiflowCore
import ClaiflowStore
import Synchronization

/// Fans status events out to the open event streams of this replica, in memory: a stream that
/// waits costs no database query, and one event reaches every stream with one lock and one
/// `yield` each. The last ``historySize`` events are kept so that a stream reopened with
/// `Last-Event-ID` gets what it missed.
///
/// Event ids are `<epoch>-<sequence>`: the epoch is drawn at start, so an id of another replica
/// or of an earlier start is recognised as unknown (the stream then begins with a `reset`).
public final class EventBroadcaster: Sendable {
    /// One event with its id.
    public struct Delivery: Sendable, Equatable {
        /// The `id:` of the event.
        public var id: String
        /// The event.
        public var event: StatusEvent
    }

    /// What a new subscriber starts with.
    public enum Replay: Sendable, Equatable {
        /// Nothing to replay (no `Last-Event-ID`).
        case none
        /// The events after the given id.
        case events([Delivery])
        /// The given id is unknown or too old: the watcher must re-read what it shows.
        case reset
    }

    /// How many events are kept for `Last-Event-ID`.
    public static let historySize = 1_024
    /// How many events may wait for a slow stream; more end the stream (the client reconnects
    /// with `Last-Event-ID`).
    static let streamBuffer = 4_096

    private struct Subscriber {
        var topics: Set<StatusEvent.Topic>
        var continuation: AsyncStream<Delivery>.Continuation
    }

    private struct State {
        var sequence = 0
        var history: [Delivery] = []
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
        var closed = false
    }

    private let epoch: String
    private let state = Mutex(State())

    /// A broadcaster with a fresh epoch.
    public init() {
        epoch = Identifier.generate().prefix(8).filter { $0 != "-" }
    }

    /// The id of the latest event (a page rendered now asks for the events after it, so that
    /// none is lost between the page's reads and its stream's start).
    public var latestID: String { state.withLock { "\(epoch)-\($0.sequence)" } }

    /// The streams open now.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Sends events to every stream that asked for their topic.
    public func publish(_ events: [StatusEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { s in
            for event in events {
                s.sequence += 1
                let delivery = Delivery(id: "\(epoch)-\(s.sequence)", event: event)
                s.history.append(delivery)
                for (id, sub) in s.subscribers where sub.topics.contains(event.topic) {
                    if case .dropped = sub.continuation.yield(delivery) {
                        sub.continuation.finish()
                        s.subscribers[id] = nil
                    }
                }
            }
            if s.history.count > Self.historySize + Self.historySize / 4 {
                s.history.removeFirst(s.history.count - Self.historySize)
            }
        }
    }

    /// Opens a stream of the events of `topics` (after `lastEventID` when given). The stream
    /// ends when the broadcaster closes, when the stream falls too far behind, or when its
    /// consumer stops iterating (cancellation).
    public func subscribe(
        topics: Set<StatusEvent.Topic>, lastEventID: String?
    ) -> (
        replay: Replay, stream: AsyncStream<Delivery>
    ) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Delivery.self, bufferingPolicy: .bufferingOldest(Self.streamBuffer))
        let (replay, id) = state.withLock { s -> (Replay, Int?) in
            let replay = lastEventID.map { Self.replay(after: $0, epoch: epoch, sequence: s.sequence, history: s.history) }
            guard !s.closed else { return (replay ?? .none, nil) }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = Subscriber(topics: topics, continuation: continuation)
            return (replay ?? .none, id)
        }
        guard let id else {
            continuation.finish()
            return (replay, stream)
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        if case .events(let missed) = replay {
            return (.events(missed.filter { topics.contains($0.event.topic) }), stream)
        }
        return (replay, stream)
    }

    /// Ends every stream (the server shuts down) and refuses new ones.
    public func close() {
        let subscribers = state.withLock { s in
            s.closed = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for sub in subscribers { sub.continuation.finish() }
    }

    private func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// The events after `lastEventID`, or `.reset` when that id is not one of this epoch's
    /// still-kept events (nor the latest sequence number).
    static func replay(after lastEventID: String, epoch: String, sequence: Int, history: [Delivery]) -> Replay {
        let parts = lastEventID.split(separator: "-")
        guard parts.count == 2, parts[0] == epoch, let n = Int(parts[1]), n <= sequence else { return .reset }
        if n == sequence { return .events([]) }
        let oldest = sequence - history.count + 1
        guard n >= oldest - 1 else { return .reset }
        return .events(Array(history.suffix(sequence - n)))
    }
}
