import ClaiflowStore
import Testing

/// The `NOTIFY` payloads of dispatch events between replicas.
@Suite("Dispatch events")
struct DispatchEventTests {
    static let events: [DispatchEvent] = [
        .wake(cluster: "c1"), .tokenChanged(token: "t-1"), .clusterDeleted(cluster: "c_2"),
        // Ids are opaque here: everything after the first ':' is the id, colons included.
        .wake(cluster: "a:b"), .tokenChanged(token: "::"), .clusterDeleted(cluster: "x:"), .eventsMissed(replica: "r-1"),
    ]

    @Test("an event survives encoding and decoding", arguments: events)
    func roundTrip(event: DispatchEvent) {
        #expect(DispatchEvent(payload: event.payload) == event)
    }

    @Test("the payloads keep the words of the untyped events (replicas of both versions interoperate)")
    func wireFormat() {
        #expect(DispatchEvent.wake(cluster: "c1").payload == "wake:c1")
        #expect(DispatchEvent.tokenChanged(token: "t1").payload == "token:t1")
        #expect(DispatchEvent.clusterDeleted(cluster: "c1").payload == "cluster:c1")
        #expect(DispatchEvent(payload: "cluster:a:b") == .clusterDeleted(cluster: "a:b"))
    }

    @Test(
        "an unknown or garbled payload is no event",
        arguments: ["", ":", "wake", "wake:", "token:", "cluster:", "Wake:c1", " wake:c1", "session:s1", ":c1", "wakec1"])
    func garbled(payload: String) {
        #expect(DispatchEvent(payload: payload) == nil)
    }

    @Test("distinct events have distinct payloads")
    func distinct() {
        #expect(Set(Self.events.map(\.payload)).count == Self.events.count)
        #expect(DispatchEvent.wake(cluster: "x").payload != DispatchEvent.clusterDeleted(cluster: "x").payload)
    }
}
