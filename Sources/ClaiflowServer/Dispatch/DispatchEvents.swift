import ClaiflowCore
import ClaiflowStore

/// What the operator use cases tell the dispatch machinery, here and (through PostgreSQL
/// `NOTIFY`) in the other replicas; and what this replica does on a ``DispatchEvent``, whichever
/// replica it came from.
public struct DispatchEvents: Sendable {
    let hub: DispatchHub
    let store: Store
    let agents: AgentUseCases
    let deliverer: WebhookDeliverer
    /// The event streams of this replica (`/api/v1/events`).
    let broadcaster: EventBroadcaster

    /// Status changes were written (their webhook deliveries with them): send them soon.
    func statusChanged() { deliverer.poke() }

    /// New services exist on these clusters (the other replicas hear of it by the store's `NOTIFY`
    /// after their commit).
    /// `deliveries`: their status rows enqueued webhook deliveries (a service that names no
    /// webhook enqueues none, and waking the deliverer for nothing costs it a claim transaction).
    func servicesCreated(on clusters: [String], validUntil: Timestamp, deliveries: Bool) {
        hub.wake(clusters: clusters)
        agents.sweeper.note(deadline: validUntil)
        if deliveries { deliverer.poke() }
    }

    /// Services' ends moved runs on (a report, a sweep or a cancel): held services were
    /// released on the `released` clusters (the store's `NOTIFY` follows their commit) — wake
    /// their polls and let the sweeper learn their validity deadlines —, and `deliveries`: a run
    /// ended with its webhook delivery enqueued. Releasing writes no status rows, so it enqueues
    /// no delivery and does not wake the deliverer.
    func runProgressed(released: [String], deliveries: Bool) {
        if !released.isEmpty {
            hub.wake(clusters: released)
            agents.sweeper.note(deadline: .now())
        }
        if deliveries { deliverer.poke() }
    }

    /// A paused cluster was resumed: its queued services may go out now, and their validity
    /// clocks run again (the sweeper re-reads its next deadline).
    func clusterResumed(_ uuid: String) async {
        agents.sweeper.note(deadline: .now())
        await applyAndPublish(.wake(cluster: uuid))
    }

    /// A cluster token was changed, expired or deleted: its sessions must re-check it now.
    func tokenChanged(_ uuid: String) async {
        await applyAndPublish(.tokenChanged(token: uuid))
    }

    /// An operator asked to cancel running services on these clusters: the cancellation watches
    /// parked here and on the other replicas look again.
    func cancelRequested(on clusters: [String]) async {
        guard !clusters.isEmpty else { return }
        agents.cancelWatches.wake(clusters: clusters)
        try? await store.publish(clusters.map { .cancel(cluster: $0) })
    }

    /// A cluster was deleted: its agents stop.
    func clusterDeleted(_ uuid: String) async {
        await applyAndPublish(.clusterDeleted(cluster: uuid))
    }

    /// A cluster was created, changed, paused, resumed or deleted (`status` says which): tell
    /// the event streams of every replica.
    func clusterChanged(_ uuid: String, _ status: String) async {
        try? await store.publishStatus([StatusEvent(topic: .cluster, uuid: uuid, cluster: uuid, status: status)])
    }

    private func applyAndPublish(_ event: DispatchEvent) async {
        apply(event)
        try? await store.publish([event])
    }

    /// Applies an event to this replica's parked polls and caches.
    func apply(_ event: DispatchEvent) {
        switch event {
        case .wake(let cluster):
            hub.wake(clusters: [cluster])
        case .tokenChanged(let token):
            agents.tokenCache.invalidate(uuid: token)
            hub.revoke(tokenUUID: token)
            agents.cancelWatches.revoke(tokenUUID: token)
        case .clusterDeleted(let cluster):
            agents.tokenCache.invalidateAll()
            hub.revoke(cluster: cluster)
            agents.cancelWatches.revoke(cluster: cluster)
        case .cancel(let cluster):
            agents.cancelWatches.wake(clusters: [cluster])
        case .status(let events):
            broadcaster.publish(events)
        case .eventsMissed:
            eventsMayHaveBeenMissed()
        }
    }

    /// Events may have been missed (listening to the other replicas (re)started, or a replica
    /// dropped events it could not publish): trust no
    /// "known empty" mark and no cached token.
    func eventsMayHaveBeenMissed() {
        hub.forgetEmpty()
        agents.tokenCache.invalidateAll()
    }
}
