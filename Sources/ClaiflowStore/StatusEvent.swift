/// A status change that watchers are told about (the console's and `watch`'s Server-Sent
/// Events): a service's, a run's (one of its clusters') or a cluster's. Status events are hints:
/// a watcher reads the object through the API for the rest of it.
///
/// The store hands them on after the commit of the status rows that cause them (none for a
/// transaction that rolls back): on PostgreSQL to its ``EventPublisher``, which sends them by
/// `NOTIFY` soon after, coalesced with other commits' (every replica, this one included, hears
/// them through its listener); on SQLite to the ``Store/onStatusEvents(_:)`` handler. A crash
/// between a commit and the publish loses its events: a watcher re-reads on `event: reset` or
/// when it reconnects.
public struct StatusEvent: Sendable, Hashable {
    /// What changed.
    public enum Topic: String, Sendable, CaseIterable, Comparable {
        /// A service's status (`uuid` is the service's).
        case service
        /// A run's service on one cluster changed (`uuid` is the run's).
        case run
        /// A cluster was created, changed, paused, resumed, deleted, or its agent connected.
        case cluster

        public static func < (a: Topic, b: Topic) -> Bool { a.rawValue < b.rawValue }
    }

    /// What changed.
    public var topic: Topic
    /// The service's, run's or cluster's uuid.
    public var uuid: String
    /// The cluster concerned.
    public var cluster: String
    /// The new status word (`succeeded`, `paused`, `deleted`, …).
    public var status: String

    /// A status event.
    public init(topic: Topic, uuid: String, cluster: String, status: String) {
        self.topic = topic
        self.uuid = uuid
        self.cluster = cluster
        self.status = status
    }

    /// The events of service status changes: the service's, and its run's when it has one.
    static func of(_ changes: [StatusChange]) -> [StatusEvent] {
        changes.flatMap { c -> [StatusEvent] in
            let s = c.service
            let status = c.record.status.name
            let event = StatusEvent(topic: .service, uuid: s.uuid, cluster: s.clusterUUID, status: status)
            guard let run = s.runUUID else { return [event] }
            return [event, StatusEvent(topic: .run, uuid: run, cluster: s.clusterUUID, status: status)]
        }
    }

    /// One line of a `status:` payload: `topic uuid cluster status`.
    var line: String { "\(topic.rawValue) \(uuid) \(cluster) \(status)" }

    /// The event of a payload line; nil when it is not one.
    init?(line: Substring) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, let topic = Topic(rawValue: String(parts[0])), !parts[1].isEmpty, !parts[3].isEmpty
        else { return nil }
        self.init(topic: topic, uuid: String(parts[1]), cluster: String(parts[2]), status: String(parts[3]))
    }
}
