import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// A client of `/api/v1/events` over real HTTP: collects the frames it receives.
final class EventStream: Sendable {
    /// One Server-Sent Events frame (a comment is a frame with `comment` set).
    struct Frame: Sendable, Equatable {
        var id: String?
        var event: String?
        var data: String?
        var comment: String?
    }

    let status: Int
    private let frames = Mutex<[Frame]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)
    private let ended = Mutex(false)

    /// Whether the server ended the stream (or it was closed).
    var isEnded: Bool { ended.withLock { $0 } }

    private init(status: Int) { self.status = status }

    /// Opens a stream; `headers` may carry `Last-Event-ID` or a cookie.
    static func open(
        _ s: TestServer, query: String = "", key: String? = TestServer.adminToken, headers: [(String, String)] = []
    ) async throws -> EventStream {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(s.port)/api/v1/events\(query)")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        // A client of its own: the shared one keeps few connections per host, and a stream holds one.
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(60))
        } catch {
            try? await client.shutdown()
            throw error
        }
        let stream = EventStream(status: Int(response.status.code))
        let task = Task {
            var pending = ""
            do {
                for try await chunk in response.body {
                    pending += String(buffer: chunk)
                    while let end = pending.range(of: "\n\n") {
                        let block = String(pending[..<end.lowerBound])
                        pending = String(pending[end.upperBound...])
                        stream.frames.withLock { $0.append(Self.parse(block)) }
                    }
                }
            } catch {}
            stream.ended.withLock { $0 = true }
            try? await client.shutdown()
        }
        stream.reader.withLock { $0 = task }
        return stream
    }

    static func parse(_ block: String) -> Frame {
        var f = Frame()
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") {
                f.comment = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("id: ") {
                f.id = String(line.dropFirst(4))
            } else if line.hasPrefix("event: ") {
                f.event = String(line.dropFirst(7))
            } else if line.hasPrefix("data: ") {
                f.data = String(line.dropFirst(6))
            }
        }
        return f
    }

    /// The frames received so far.
    var received: [Frame] { frames.withLock { $0 } }

    /// The events (frames with an `event:`) received so far.
    var events: [Frame] { received.filter { $0.event != nil } }

    /// Stops reading (closes the connection).
    func close() {
        reader.withLock { $0?.cancel() }
    }

    deinit { reader.withLock { $0?.cancel() } }
}
