import ClaiflowCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// One long poll answered by a ``PollChannelHandler``: what `RequestIDMiddleware`,
/// `ObservabilityMiddleware`, `ErrorMiddleware`, the route's handler (``AgentController``) and
/// the application do for a request, without a task suspended while it is parked: the session
/// check runs in a short task, the poll is a ``ParkedPoll``, and the answer is handed back to the
/// connection's handler.
final class PollExchange: Sendable {
    /// Receives the response to write.
    typealias Answer = @Sendable (PollExchange, HTTPResponse, ByteBuffer) -> Void

    private struct State {
        var poll: ParkedPoll?
        var cancelled = false
        var shutDown = false
    }

    private let answerer: PollAnswerer
    private let requestID: String
    /// The request's target (path and query).
    private let target: String
    private let path: String
    private let limit: String?
    private let wait: String?
    private let pretty: Bool
    private let logger: Logger
    private let start = ContinuousClock.now
    private let onAnswer: Answer
    private let state = Mutex(State())

    /// Answers the poll whose request head is `head`: checks its session, then runs it;
    /// `onAnswer` receives its response.
    init(answerer: PollAnswerer, head: HTTPRequest, onAnswer: @escaping Answer) {
        let request = Request(head: head, body: HummingbirdCore.RequestBody(buffer: ByteBuffer()))
        self.answerer = answerer
        self.requestID = RequestIDMiddleware.requestID(head.headerFields[.xRequestID], generated: RequestID().description)
        var logger = answerer.logger
        logger[metadataKey: "request_id"] = .string(requestID)
        self.logger = logger
        self.target = head.path ?? ""
        self.path = request.uri.path
        let params = QueryParameters(request)
        (limit, wait, pretty) = (params["limit"], params["wait"], params.has("pretty"))
        self.onAnswer = onAnswer
        do {
            run(bearer: try AgentController.bearer(request))
        } catch {
            complete(.failure(error))
        }
    }

    private func run(bearer: String) {
        let agents = answerer.agents
        Task {
            do {
                let session = try await agents.session(bearer: bearer)
                let (limit, wait) = try AgentController.pollParameters(limit: self.limit, wait: self.wait)
                let poll = ParkedPoll(agents: agents, session: session, limit: limit, wait: wait)
                let (cancelled, shutDown) = self.state.withLock { s in
                    s.poll = poll
                    return (s.cancelled, s.shutDown)
                }
                if cancelled { poll.cancel() }
                if shutDown { poll.shutdown() }
                poll.start { result in self.complete(result.map { ($0, session) }) }
            } catch {
                self.complete(.failure(error))
            }
        }
    }

    /// The client went away.
    func cancel() {
        state.withLock { s in
            s.cancelled = true
            return s.poll
        }?.cancel()
    }

    /// The server shuts down gracefully.
    func shutdown() {
        state.withLock { s in
            s.shutDown = true
            return s.poll
        }?.shutdown()
    }

    private func complete(_ result: Result<([ClaiflowCore.Service], AgentSession), any Error>) {
        state.withLock { $0.poll = nil }
        var response: Response
        do {
            let (services, session) = try result.get()
            response = try AgentController.delivered(services, session: session, logger: logger, pretty: pretty)
        } catch {
            let request = Request(
                head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: target),
                body: HummingbirdCore.RequestBody(buffer: ByteBuffer()))
            response = ErrorMiddleware.answer(error, request: request, logger: logger)
        }
        ObservabilityMiddleware.record(
            route: PollAnswerer.path, method: HTTPRequest.Method.get.rawValue, path: path, status: response.status.code,
            elapsed: ContinuousClock.now - start, metrics: answerer.metrics, logger: logger)
        response.headers[.xRequestID] = requestID
        response.headers[.date] = HTTPDate.now
        response.headers[.server] = answerer.serverName
        let head = response.head
        let body = response.body
        Task {
            let collected = BodyCollector()
            try? await body.write(collected)
            self.onAnswer(self, head, collected.buffer.withLock { $0 })
        }
    }
}

/// Collects a response body written at once (the JSON bodies of ``JSONResponse``).
private final class BodyCollector: ResponseBodyWriter, Sendable {
    let buffer = Mutex(ByteBuffer())

    func write(_ buffer: ByteBuffer) async throws {
        self.buffer.withLock { collected in
            var part = buffer
            collected.writeBuffer(&part)
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
