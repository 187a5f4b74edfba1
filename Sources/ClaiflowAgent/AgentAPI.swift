import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Foundation
import NIOCore

/// Why a call to the server failed, as far as the agent is concerned.
enum AgentCallError: Error, Sendable, CustomStringConvertible {
    /// 401: the session token is no longer accepted; authenticate again.
    case unauthorized(String)
    /// 404 or 409 on a report: the server does not want this service's reports any more
    /// (deleted, finished, canceled, or requeued after the session lapsed).
    case refused(status: Int, message: String)
    /// Another 4xx: retrying the same request cannot help (a wrong cluster token, a report the
    /// server cannot accept).
    case rejected(status: Int, message: String)
    /// The server is unreachable, restarting or overloaded (transport errors, timeouts, 5xx,
    /// 429): retry later.
    case unavailable(String)
    /// The calling task was canceled.
    case cancelled

    var description: String {
        switch self {
        case .unauthorized(let m): "401 unauthorized: \(m)"
        case .refused(let s, let m), .rejected(let s, let m): "\(s): \(m)"
        case .unavailable(let m): m
        case .cancelled: "canceled"
        }
    }
}

/// An authenticated session: the JWT from the handshake. `description` never shows the token.
struct AgentSession: Sendable, CustomStringConvertible {
    /// The session JWT (secret: never logged).
    let token: String
    /// The session id (the JWT's `uuid` claim), for logs.
    let sessionUUID: String
    /// The server's `ClientSession/ExpirationTime`, when it says (the original's server does not).
    var window: Duration? = nil

    var description: String { "session \(sessionUUID)" }

    /// The `uuid` claim of a JWT, read without verifying it (for logs only).
    static func sessionUUID(ofJWT jwt: String) -> String {
        let parts = jwt.split(separator: ".")
        guard parts.count == 3 else { return "?" }
        var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        guard let data = Data(base64Encoded: payload), let claims = try? JSONValue.parse(Array(data)),
            case .string(let uuid) = claims.field("uuid")
        else { return "?" }
        return uuid
    }
}

/// A service as a poll returns it.
struct PolledService: Sendable {
    let uuid: String
    let name: String
    /// The flow's JSON text.
    let flow: String
    /// The service inputs (an object, or null).
    let inputs: JSONValue
    /// The number of top-level steps as the server counts them.
    let stepMax: Int?
    /// How long the service may run (the poll item's `timeout`, a Go duration; nil: no limit).
    var timeout: GoDuration? = nil
}

/// The agent API over REST (`/api/v1/client/*`, see `docs/dispatch.md`).
struct AgentAPI: Sendable {
    let http: HTTPClient
    let configuration: AgentConfiguration

    /// The largest response body read (a poll of many services with large inputs).
    static let maxResponseSize = 256 << 20

    /// `POST /api/v1/client/auth`: opens a session with the cluster token.
    func authenticate() async throws(AgentCallError) -> AgentSession {
        let body = JSONValue.object([
            "cluster_uuid": .string(configuration.clusterUUID),
            "assertion": .string(configuration.token),
            "client_version": .string(configuration.version),
            "client_lib_version": .string(configuration.libraryVersion),
        ]).serialized()
        let (status, _, reply) = try await call(
            .post, "/api/v1/client/auth", jwt: nil, body: body, timeout: configuration.requestTimeout)
        guard status == 200 else { throw Self.classify(status: status, body: reply, refusable: false) }
        let json = try? JSONValue.parse(reply)
        guard case .string(let token)? = json?.field("access_token"), !token.isEmpty else {
            throw .unavailable("the handshake reply has no access_token")
        }
        var window: Duration?
        if case .integer(let seconds)? = json?.field("session_expiration"), seconds > 0 { window = .seconds(seconds) }
        return AgentSession(token: token, sessionUUID: AgentSession.sessionUUID(ofJWT: token), window: window)
    }

    /// `GET /api/v1/client/service?limit=N&wait=S`: claims up to `limit` services, parking up to `wait`.
    func poll(_ session: AgentSession, limit: Int, wait: Duration) async throws(AgentCallError) -> [PolledService] {
        let waitText = Self.seconds(wait)
        let (status, _, reply) = try await call(
            .get, "/api/v1/client/service?limit=\(max(1, limit))&wait=\(waitText)", jwt: session.token, body: nil,
            timeout: wait + configuration.requestTimeout)
        guard status == 200 else { throw Self.classify(status: status, body: reply, refusable: false) }
        let json: JSONValue
        do throws(ClaiflowError) {
            json = try JSONValue.parse(reply)
        } catch {
            throw .unavailable("the poll reply is not JSON: \(error.message)")
        }
        guard case .array(let items) = json else { throw .unavailable("the poll reply is not an array") }
        return items.compactMap(Self.polledService)
    }

    /// `POST /api/v1/client/service/cancellations?wait=S`: which of the services `uuids` an
    /// operator asked to cancel, at once or within the wait (then `[]`).
    func cancellations(_ session: AgentSession, uuids: [String], wait: Duration) async throws(AgentCallError) -> [String] {
        let body = JSONValue.object(["uuids": .array(uuids.map(JSONValue.string))]).serialized()
        let (status, _, reply) = try await call(
            .post, "/api/v1/client/service/cancellations?wait=\(Self.seconds(wait))", jwt: session.token, body: body,
            timeout: wait + configuration.requestTimeout)
        guard status == 200 else { throw Self.classify(status: status, body: reply, refusable: false) }
        guard case .array(let items)? = (try? JSONValue.parse(reply))?.field("canceled") else {
            throw .unavailable("the cancellations reply has no \"canceled\" array")
        }
        return items.compactMap { item in
            if case .string(let uuid) = item { return uuid }
            return nil
        }
    }

    /// A wait in seconds with millisecond precision, as the `wait` parameter.
    static func seconds(_ wait: Duration) -> String {
        let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        return String(format: "%.3f", max(0, seconds))
    }

    /// `PUT /api/v1/client/service`: sends a step report; returns whether the server asks the
    /// agent to stop the service (`X-Claiflow-Cancel: true`).
    func report(_ session: AgentSession, uuid: String, _ report: StepReport) async throws(AgentCallError) -> Bool {
        let (status, cancel, reply) = try await call(
            .put, "/api/v1/client/service", jwt: session.token, body: Self.reportBody(uuid: uuid, report),
            timeout: configuration.requestTimeout)
        guard status == 200 else { throw Self.classify(status: status, body: reply, refusable: true) }
        return cancel
    }

    /// The JSON body of a report, as the original agent's REST client sends it.
    static func reportBody(uuid: String, _ report: StepReport) -> String {
        var fields: [String: JSONValue] = [
            "uuid": .string(uuid),
            "sequence": .integer(Int64(report.sequence)),
            "status": .integer(Int64(report.status.rawValue)),
            "started": .string(report.started.rfc3339),
        ]
        if let ended = report.ended { fields["ended"] = .string(ended.rfc3339) }
        switch report.status {
        case .processing:
            // A retried step's attempt report says which attempt starts and why the last one failed.
            if !report.error.isEmpty { fields["error"] = .string(report.error) }
        case .succeeded: fields["result"] = .string(report.result)
        case .failed: fields["error"] = .string(report.error)
        }
        return JSONValue.object(fields).serialized()
    }

    static func polledService(_ item: JSONValue) -> PolledService? {
        guard case .string(let uuid)? = item.field("uuid"), !uuid.isEmpty else { return nil }
        var name = ""
        if case .string(let n)? = item.field("name") { name = n }
        let flow: String
        switch item.field("flow") {
        case .string(let text)?: flow = text
        case let other?: flow = other.serialized()
        case nil: flow = ""
        }
        var stepMax: Int?
        if case .integer(let n)? = item.field("step_max") { stepMax = Int(exactly: n) }
        var timeout: GoDuration?
        if case .string(let text)? = item.field("timeout"), let d = GoDuration(parsing: text), d.nanoseconds > 0 { timeout = d }
        return PolledService(
            uuid: uuid, name: name, flow: flow, inputs: item.field("inputs") ?? .null, stepMax: stepMax, timeout: timeout)
    }

    /// Maps a non-200 reply to an error.
    static func classify(status: Int, body: String, refusable: Bool) -> AgentCallError {
        var message = body.trimmingCharacters(in: .whitespacesAndNewlines)
        if case .string(let m)? = (try? JSONValue.parse(body))?.field("message") { message = m }
        if message.count > 500 { message = String(message.prefix(500)) + "…" }
        switch status {
        case 401: return .unauthorized(message)
        case 404 where refusable, 409 where refusable: return .refused(status: status, message: message)
        case 408, 429: return .unavailable("\(status): \(message)")
        case 400..<500: return .rejected(status: status, message: message)
        default: return .unavailable("\(status): \(message)")
        }
    }

    private enum Method { case get, post, put }

    /// Sends a request; returns the status, whether `X-Claiflow-Cancel: true` came back, and the body.
    private func call(
        _ method: Method, _ path: String, jwt: String?, body: String?, timeout: Duration
    ) async throws(AgentCallError) -> (Int, Bool, String) {
        if Task.isCancelled { throw .cancelled }
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        switch method {
        case .get: request.method = .GET
        case .post: request.method = .POST
        case .put: request.method = .PUT
        }
        request.headers.add(name: "User-Agent", value: "claiflow-agent/\(configuration.version)")
        request.headers.add(name: "Accept", value: "application/json")
        if let jwt { request.headers.add(name: "Authorization", value: "Bearer \(jwt)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        do {
            let response = try await http.execute(request, timeout: Self.timeAmount(timeout))
            let bytes = try await response.body.collect(upTo: Self.maxResponseSize)
            let cancel = response.headers.first(name: "X-Claiflow-Cancel")?.lowercased() == "true"
            return (Int(response.status.code), cancel, String(buffer: bytes))
        } catch {
            if Task.isCancelled || error is CancellationError { throw .cancelled }
            throw .unavailable(Self.describe(error))
        }
    }

    /// A transport error in a few words (never the request, which carries the token).
    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "cannot reach the server: \(e.shortDescription)" }
        return "cannot reach the server: \(String(describing: error).prefix(300))"
    }

    static func timeAmount(_ d: Duration) -> TimeAmount {
        let (seconds, attoseconds) = d.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return .nanoseconds(overflow ? Int64.max : ns + attoseconds / 1_000_000_000)
    }
}
