import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Event streams (/api/v1/events)")
struct EventStreamTests {
    static func hasEvent(_ stream: EventStream, _ topic: String, uuid: String, status: String) -> Bool {
        stream.events.contains {
            $0.event == topic && $0.data?.contains("\"uuid\":\"\(uuid)\"") == true
                && $0.data?.contains("\"status\":\"\(status)\"") == true
        }
    }

    @Test("cluster and service status changes are pushed to the topics that asked for them", arguments: StoreKind.available)
    func pushes(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            let all = try await EventStream.open(s, query: "?topics=service,run,cluster")
            let clustersOnly = try await EventStream.open(
                s, query: "?topics=cluster", key: nil,
                headers: [
                    ("Authorization", "Bearer \(try await Self.key(s, role: "viewer"))")
                ])
            defer {
                all.close()
                clustersOnly.close()
            }
            #expect(all.status == 200)
            #expect(clustersOnly.status == 200)
            #expect(try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#).status == 200)
            #expect(try await waitUntil { Self.hasEvent(all, "cluster", uuid: "c1", status: "created") })
            _ = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"q","flow":[{"$id":"a","$command":"x"}]}"#)
            #expect(try await waitUntil { Self.hasEvent(all, "service", uuid: "q", status: "regist") })
            _ = try await s.request(.POST, "/api/v1/cluster/c1/service/q/cancel")
            #expect(try await waitUntil { Self.hasEvent(all, "service", uuid: "q", status: "canceled") })
            #expect(try await s.request(.PUT, "/api/v1/cluster/c1", json: #"{"paused":true}"#).status == 200)
            #expect(try await waitUntil { Self.hasEvent(clustersOnly, "cluster", uuid: "c1", status: "paused") })
            // The cluster-only stream saw the cluster's events in order, and none of the service's.
            #expect(clustersOnly.events.map(\.event) == ["cluster", "cluster"])
            #expect(Self.hasEvent(clustersOnly, "cluster", uuid: "c1", status: "created"))
            let ids = all.events.compactMap(\.id)
            #expect(Set(ids).count == ids.count)
        }
    }

    static func key(_ s: TestServer, role: String) async throws -> String {
        let created = try await s.request(.POST, "/api/v1/api_key", json: #"{"name":"\#(role)-key","role":"\#(role)"}"#)
        return created.string("key") ?? ""
    }

    @Test("authorized like the API; unknown topics refused")
    func authorization() async throws {
        try await TestServer.with { s in
            let anonymous = try await EventStream.open(s, key: nil)
            #expect(anonymous.status == 401)
            let wrong = try await EventStream.open(s, key: "not-a-key-0123456789")
            #expect(wrong.status == 401)
            let unknown = try await EventStream.open(s, query: "?topics=service,secrets")
            #expect(unknown.status == 400)
        }
    }

    @Test("Last-Event-ID replays what was missed; an unknown id starts with a reset")
    func replay() async throws {
        try await TestServer.with { s in
            let first = try await EventStream.open(s, query: "?topics=cluster")
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            #expect(try await waitUntil { first.events.count == 1 })
            let lastID = first.events[0].id ?? ""
            first.close()
            _ = try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c2","name":"c2"}"#)
            _ = try await s.request(.DELETE, "/api/v1/cluster/c1")
            let again = try await EventStream.open(s, query: "?topics=cluster", headers: [("Last-Event-ID", lastID)])
            defer { again.close() }
            #expect(try await waitUntil { again.events.count == 2 })
            #expect(Self.hasEvent(again, "cluster", uuid: "c2", status: "created"))
            #expect(Self.hasEvent(again, "cluster", uuid: "c1", status: "deleted"))
            let stale = try await EventStream.open(s, query: "?topics=cluster", headers: [("Last-Event-ID", "0000-1")])
            defer { stale.close() }
            #expect(try await waitUntil { stale.events.first?.event == "reset" })
        }
    }

    @Test("idle streams get heartbeats and cost no database statement")
    func idle() async throws {
        try await TestServer.with(configure: {
            $0.eventsHeartbeat = .milliseconds(50)
            $0.settingsRefreshInterval = .seconds(3600)
        }) { s in
            var streams: [EventStream] = []
            for _ in 0..<10 { streams.append(try await EventStream.open(s)) }
            defer { for st in streams { st.close() } }
            #expect(try await waitUntil { streams.allSatisfy { $0.received.contains { $0.comment == "heartbeat" } } })
            let before = s.store.database.statementsExecuted
            let beats = streams.map { $0.received.count }
            #expect(try await waitUntil { zip(streams, beats).allSatisfy { $0.received.count >= $1 + 3 } })
            #expect(s.store.database.statementsExecuted == before)
        }
    }

    @Test("a change made through another replica reaches the streams of this one (PostgreSQL)")
    func acrossReplicas() async throws {
        guard StoreKind.available.contains(.postgres) else { return }
        let (url, cleanup) = try await StoreFixtureURL.fresh(.postgres)
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                let onA = try await EventStream.open(a)
                defer { onA.close() }
                _ = try await b.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
                _ = try await b.request(
                    .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"q","flow":[{"$id":"a","$command":"x"}]}"#)
                _ = try await b.request(.POST, "/api/v1/cluster/c1/service/q/cancel")
                #expect(try await waitUntil { Self.hasEvent(onA, "cluster", uuid: "c1", status: "created") })
                #expect(try await waitUntil { Self.hasEvent(onA, "service", uuid: "q", status: "canceled") })
            }
        }
        try await cleanup()
    }

    @Test("a shutting-down server ends its open streams")
    func shutdown() async throws {
        let stream = try await TestServer.with { s in try await EventStream.open(s) }
        #expect(try await waitUntil { stream.isEnded })
    }
}
