import ClaiflowCore
import ClaiflowStore
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /api/v1/events?topics=service,run,cluster`: status changes as Server-Sent Events.
///
/// Each event is `id: <epoch>-<n>`, `event: <topic>`, `data: {"uuid":…,"cluster_uuid":…,"status":…}`;
/// a comment line is sent every ``heartbeat`` so that proxies and the idle timeout keep the
/// stream open and a client that went away is noticed. A `Last-Event-ID` header (or the
/// `last_event_id` parameter) replays the events missed since; an unknown one starts the
/// stream with `event: reset` (re-read what you show).
struct EventController {
    let broadcaster: EventBroadcaster
    let heartbeat: Duration

    /// The role each topic needs (all three are what a viewer may read through the API).
    static let topicRoles: [StatusEvent.Topic: Role] = [.service: .viewer, .run: .viewer, .cluster: .viewer]

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("events", use: stream)
    }

    /// The topics of a `topics` parameter (all when absent), refused when unknown or above `role`.
    static func topics(_ parameter: String?, role: Role) throws -> Set<StatusEvent.Topic> {
        guard let parameter, !parameter.isEmpty else {
            return Set(StatusEvent.Topic.allCases.filter { (topicRoles[$0] ?? .admin) <= role })
        }
        var topics = Set<StatusEvent.Topic>()
        for word in parameter.split(separator: ",") {
            guard let topic = StatusEvent.Topic(rawValue: word.trimmingCharacters(in: .whitespaces)) else {
                throw ClaiflowError(
                    .invalidArgument,
                    "topics: unknown topic \"\(word)\" (known: \(StatusEvent.Topic.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            let needed = topicRoles[topic] ?? .admin
            guard role >= needed else {
                throw ClaiflowError(.permissionDenied, "topics: \(topic.rawValue) needs role \(needed.rawValue)")
            }
            topics.insert(topic)
        }
        return topics
    }

    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let params = QueryParameters(request)
        let topics = try Self.topics(params["topics"], role: context.principal?.role ?? .viewer)
        let lastID = request.headers[.lastEventID] ?? params["last_event_id"]
        let (replay, deliveries) = broadcaster.subscribe(topics: topics, lastEventID: lastID)
        let (heartbeat, channel) = (self.heartbeat, context.channel)
        var headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var opening = "retry: 2000\n: connected\n\n"
                switch replay {
                case .none: break
                case .reset: opening += "event: reset\ndata: {}\n\n"
                case .events(let missed): opening += missed.map(Self.frame).joined()
                }
                try await writer.write(ByteBuffer(string: opening))
                let (items, sink) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
                let watch = if let channel { await ClientGoneHandler.watch(of: channel) } else { ConnectionWatch?.none }
                let goneID = watch?.onGone { sink.finish() }
                defer { if let goneID { watch?.remove(goneID) } }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await d in deliveries { sink.yield(Self.frame(d)) }
                        sink.finish()
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: heartbeat)
                            sink.yield(": heartbeat\n\n")
                        }
                    }
                    // The server waits for open requests when it shuts down: a stream ends then.
                    await withGracefulShutdownHandler {
                        do {
                            for await text in items { try await writer.write(ByteBuffer(string: text)) }
                        } catch {}
                    } onGracefulShutdown: {
                        sink.finish()
                    }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            })
    }

    /// One event as an SSE frame.
    static func frame(_ d: EventBroadcaster.Delivery) -> String {
        var data = "{\"cluster_uuid\":"
        JSONValue.writeString(d.event.cluster, into: &data)
        data += ",\"status\":"
        JSONValue.writeString(d.event.status, into: &data)
        data += ",\"uuid\":"
        JSONValue.writeString(d.event.uuid, into: &data)
        data += "}"
        return "id: \(d.id)\nevent: \(d.event.topic.rawValue)\ndata: \(data)\n\n"
    }
}

extension HTTPField.Name {
    /// `Last-Event-ID` (Server-Sent Events).
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
