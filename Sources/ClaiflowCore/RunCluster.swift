/// One cluster of a run's target, in the order the run starts them.
public struct RunCluster: Sendable, Equatable {
    /// Where a run's cluster stands.
    public enum Status: String, Sendable, CaseIterable {
        /// Not started yet: held back by `max_parallel`, or released and waiting for its agent.
        case pending
        /// Its service is sent to or processed by its agent.
        case running
        case succeeded
        case failed
        case expired
        case canceled
        /// Paused when the run was created, and left out.
        case skipped

        /// The status a run cluster shows for its service's status.
        public init(_ s: ServiceStatus) {
            switch s {
            case .regist: self = .pending
            case .sent, .processing: self = .running
            case .succeeded: self = .succeeded
            case .failed: self = .failed
            case .expired: self = .expired
            case .canceled: self = .canceled
            }
        }
    }

    public var position: Int
    public var clusterUUID: String
    public var clusterName: String
    /// Its labels when the run was created.
    public var labels: ClusterLabels
    public var status: Status
    /// Why it ended as it did (the service's last message, or why it never started).
    public var message: String?
    /// When its service was released to its agent.
    public var started: Timestamp?
    public var ended: Timestamp?

    public init(
        position: Int, clusterUUID: String, clusterName: String, labels: ClusterLabels, status: Status, message: String?,
        started: Timestamp?, ended: Timestamp?
    ) {
        self.position = position
        self.clusterUUID = clusterUUID
        self.clusterName = clusterName
        self.labels = labels
        self.status = status
        self.message = message
        self.started = started
        self.ended = ended
    }
}
