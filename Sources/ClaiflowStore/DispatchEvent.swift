/// Something the dispatch machinery of every replica must hear about: sent between replicas as
/// the payload of a PostgreSQL `NOTIFY` (see ``Store/publish(_:)`` and
/// ``Store/listenForEvents(logger:onConnect:_:)``).
///
/// It lives in the store because the store queues it with the transaction that causes it (the
/// wake-up of a create goes out when, and only if, the create commits, soon after the commit,
/// through the ``EventPublisher``); the server applies it.
public enum DispatchEvent: Sendable, Hashable {
    /// New or requeued services wait on a cluster: wake the polls parked on it.
    case wake(cluster: String)
    /// A cluster token was changed, expired or deleted: its sessions must re-check it now.
    case tokenChanged(token: String)
    /// A cluster was deleted: its agents stop.
    case clusterDeleted(cluster: String)
    /// An operator asked to cancel running services of a cluster: its agents' cancellation
    /// watches look again.
    case cancel(cluster: String)
    /// Statuses changed (for the watchers of ``StatusEvent``s; nothing to dispatch).
    case status([StatusEvent])
    /// A replica dropped events it could not publish: every replica must assume it missed some
    /// (trust no "known empty" mark and no cached token).
    case eventsMissed(replica: String)

    /// The longest payload a `status:` event is given (PostgreSQL refuses 8,000 bytes and more).
    static let maxStatusPayload = 7_900

    /// The `status:` events of a list: as few as fit under ``maxStatusPayload`` each.
    static func status(chunking events: [StatusEvent]) -> [DispatchEvent] {
        var out: [DispatchEvent] = []
        var chunk: [StatusEvent] = []
        var size = 7
        for e in events {
            let n = e.line.utf8.count + 1
            if !chunk.isEmpty, size + n > maxStatusPayload {
                out.append(.status(chunk))
                (chunk, size) = ([], 7)
            }
            chunk.append(e)
            size += n
        }
        if !chunk.isEmpty { out.append(.status(chunk)) }
        return out
    }

    /// The `NOTIFY` payload: `<kind>:<id>`. The words are those of the untyped events earlier
    /// versions sent, so replicas of both can run side by side during an upgrade.
    public var payload: String {
        switch self {
        case .wake(let cluster): "wake:" + cluster
        case .tokenChanged(let token): "token:" + token
        case .clusterDeleted(let cluster): "cluster:" + cluster
        case .cancel(let cluster): "cancel:" + cluster
        case .status(let events): "status:" + events.map(\.line).joined(separator: "\n")
        case .eventsMissed(let replica): "missed:" + replica
        }
    }

    /// The event of a `NOTIFY` payload; nil for a payload this version does not know (an unknown
    /// kind, no `:`, or an empty id). The id is everything after the first `:`, colons included.
    public init?(payload: String) {
        guard let colon = payload.firstIndex(of: ":") else { return nil }
        let id = String(payload[payload.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        switch payload[..<colon] {
        case "wake": self = .wake(cluster: id)
        case "token": self = .tokenChanged(token: id)
        case "cluster": self = .clusterDeleted(cluster: id)
        case "cancel": self = .cancel(cluster: id)
        case "missed": self = .eventsMissed(replica: id)
        case "status":
            let events = id.split(separator: "\n").compactMap(StatusEvent.init(line:))
            guard !events.isEmpty else { return nil }
            self = .status(events)
        default: return nil
        }
    }
}
