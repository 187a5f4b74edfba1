import ClaiflowCore
import ClaiflowFlow
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// `kubernetes.pods.exec.v1`: runs a command in a pod's container through the `pods/exec`
/// subresource over a WebSocket (`v5.channel.k8s.io`, else `v4.channel.k8s.io`), as `kubectl exec`
/// does, with the REST client's credentials and TLS settings. No stdin, no TTY.
///
/// The result is `{"stdout", "stderr", "exit_code": 0}` (each stream trimmed, as the original's,
/// plus `"truncated": true` when a stream passed ``maximumStreamBytes``). A non-zero exit status or
/// another failure `Status` fails the step with the tail of stderr.
enum KubernetesExec {
    /// The channel protocols offered, in order of preference.
    static let subprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    /// How long a command may run when the inputs have no `timeout`.
    static let defaultTimeout: Duration = .seconds(300)
    /// The longest `timeout` accepted (one day).
    static let maximumTimeout: Double = 86_400
    /// How much of each of stdout and stderr is kept; the rest is dropped.
    static let maximumStreamBytes = 1 << 20
    /// How much of stderr an error message quotes.
    static let stderrTailCharacters = 1000

    static func run(_ inputs: CommandInputs, _ client: KubernetesClient) async throws -> JSONValue {
        let namespace = try inputs.requiredString("namespace")
        let name = try inputs.requiredString("name")
        let command = try self.command(inputs)
        var timeout = defaultTimeout
        if let seconds = try inputs.number("timeout") {
            guard seconds > 0, seconds <= maximumTimeout else {
                throw FlowCommandError("\"timeout\" must be more than 0 and at most \(Int(maximumTimeout)) seconds")
            }
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        let container = try await self.container(inputs, namespace: namespace, pod: name, client)
        let path =
            "/api/v1/namespaces/\(KubernetesClient.escapeSegment(namespace))/pods/\(KubernetesClient.escapeSegment(name))/exec"
        let query = command.map { ("command", $0) } + [("container", container), ("stdout", "true"), ("stderr", "true")]
        let streams = try await ExecConnection.run(client, path: path, query: query, timeout: timeout)
        let stdout = streams.stdout.text
        let stderr = streams.stderr.text
        let place = "in pod \(namespace)/\(name) (container \(container))"
        let quoted = CommandInputs.quote(command.joined(separator: " "))
        guard let status = try? JSONValue.parse(streams.status.bytes) else {
            throw FlowCommandError(
                "command \(quoted) \(place): the connection ended without the command's status" + tail(stderr))
        }
        switch status.field("status") {
        case .string("Success")?:
            var result: [String: JSONValue] = ["stdout": .string(stdout), "stderr": .string(stderr), "exit_code": .integer(0)]
            if streams.stdout.dropped > 0 || streams.stderr.dropped > 0 { result["truncated"] = .bool(true) }
            return .object(result)
        case _ where status.field("reason") == .string("NonZeroExitCode"):
            let causes = status[path: ["details", "causes"]]?.arrayValue ?? []
            let code = causes.first { $0.field("reason") == .string("ExitCode") }?.field("message")?.stringValue ?? "?"
            throw FlowCommandError("command \(quoted) \(place) exited with code \(code)" + tail(stderr))
        default:
            var message = status.field("message")?.stringValue ?? status.serialized()
            if let reason = status.field("reason")?.stringValue, !reason.isEmpty { message += " (\(reason))" }
            throw FlowCommandError("command \(quoted) \(place) failed: \(message)" + tail(stderr))
        }
    }

    /// `; stderr: <the last characters of stderr>`, or nothing when stderr is empty.
    static func tail(_ stderr: String) -> String {
        guard !stderr.isEmpty else { return "" }
        guard stderr.count > stderrTailCharacters else { return "; stderr: \(stderr)" }
        return "; stderr: …" + stderr.suffix(stderrTailCharacters)
    }

    /// The command's words: an array of strings as is, or a string split like a shell would
    /// (see ``words(_:)``).
    static func command(_ inputs: CommandInputs) throws -> [String] {
        let words: [String]
        switch inputs.value("command") {
        case .array(let items)?:
            words = try items.map {
                guard case .string(let word) = $0 else {
                    throw FlowCommandError(
                        "\"command\" must be a string or an array of strings, got an array with a \($0.typeName)")
                }
                return word
            }
        default:
            words = try self.words(try inputs.requiredString("command"))
        }
        guard let first = words.first, !first.isEmpty else { throw FlowCommandError("\"command\" is required") }
        return words
    }

    /// Splits a command line into words as a POSIX shell does, without expansions: unquoted
    /// whitespace separates words; `'…'` quotes literally; `"…"` quotes, with `\"`, `\\`, `\$`
    /// and `` \` `` escapes; a backslash outside quotes escapes the next character.
    static func words(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            switch character {
            case _ where character.isWhitespace:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "'":
                inWord = true
                while true {
                    guard let next = characters.next() else { throw FlowCommandError("\"command\" has an unterminated ' quote") }
                    if next == "'" { break }
                    current.append(next)
                }
            case "\"":
                inWord = true
                while true {
                    guard let next = characters.next() else { throw FlowCommandError("\"command\" has an unterminated \" quote") }
                    if next == "\"" { break }
                    if next == "\\" {
                        guard let escaped = characters.next() else {
                            throw FlowCommandError("\"command\" has an unterminated \" quote")
                        }
                        if !"\"\\$`".contains(escaped) { current.append("\\") }
                        current.append(escaped)
                    } else {
                        current.append(next)
                    }
                }
            case "\\":
                inWord = true
                if let escaped = characters.next() { current.append(escaped) }
            default:
                inWord = true
                current.append(character)
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// `container_name`, else the pod's `kubectl.kubernetes.io/default-container` annotation, else
    /// its first container, as kubectl chooses; a completed pod is refused.
    static func container(
        _ inputs: CommandInputs, namespace: String, pod name: String, _ client: KubernetesClient
    ) async throws
        -> String
    {
        if let container = try inputs.nonEmptyString("container_name") { return container }
        let pods = KubernetesResource(name: "pods", group: "", version: "v1", isNamespaced: true)
        let pod = try await client.send("GET", pods.objectPath(name: name, namespace: namespace))
        if case .string(let phase)? = pod[path: ["status", "phase"]], phase == "Succeeded" || phase == "Failed" {
            throw FlowCommandError("cannot exec into pod \(namespace)/\(name): it has completed (phase \(phase))")
        }
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0[path: ["name"]]?.stringValue }
        if let preferred = pod[path: ["metadata", "annotations", "kubectl.kubernetes.io/default-container"]]?.stringValue,
            containers.contains(preferred)
        {
            return preferred
        }
        guard let first = containers.first else { throw FlowCommandError("pod \(namespace)/\(name) has no containers") }
        return first
    }
}

/// What one stream of an exec delivered: its first bytes up to a limit, and how many were dropped.
struct CappedBytes: Sendable {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var dropped = 0

    init(limit: Int) { self.limit = limit }

    mutating func append(_ buffer: ByteBuffer) {
        let room = max(0, limit - bytes.count)
        bytes += buffer.readableBytesView.prefix(room)
        dropped += max(0, buffer.readableBytes - room)
    }

    /// The bytes as text (invalid UTF-8 replaced), trimmed of surrounding whitespace.
    var text: String { String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// One WebSocket connection to a `pods/exec` (or `attach`) URL, reading the channel streams until
/// the API server closes it.
enum ExecConnection {
    /// What the streams delivered.
    struct Streams: Sendable {
        var stdout = CappedBytes(limit: KubernetesExec.maximumStreamBytes)
        var stderr = CappedBytes(limit: KubernetesExec.maximumStreamBytes)
        /// Stream 3: the final `metav1.Status` JSON.
        var status = CappedBytes(limit: 1 << 16)
    }

    /// The outcome of the upgrade request.
    private enum Upgrade: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, subprotocol: String?)
        case refused(EventLoopFuture<RefusedResponse>)
    }

    /// The largest WebSocket message accepted (the API server sends at most 32 KiB a message).
    static let maximumMessageBytes = 4 << 20

    /// Connects, upgrades and reads every stream until the server closes the connection, the
    /// timeout passes (the connection is closed and this throws) or the task is canceled.
    static func run(
        _ client: KubernetesClient, path: String, query: [(String, String)], timeout: Duration
    ) async throws -> Streams {
        let target = try Target(client, path: path, query: query)
        let timedOut = TimeoutFlag()
        let connection: (channel: any Channel, upgrade: EventLoopFuture<Upgrade>)
        do {
            connection = try await ClientBootstrap(group: client.httpClient.eventLoopGroup)
                .connectTimeout(.seconds(10))
                .connect(host: target.host, port: target.port) { channel in
                    channel.eventLoop.makeCompletedFuture { (channel, try configure(channel, target)) }
                }
        } catch {
            throw FlowCommandError("kubernetes API GET \(path): \(error)")
        }
        let channel = connection.channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        func failure(_ error: any Error) -> any Error {
            if Task.isCancelled { return CancellationError() }
            if timedOut.isSet {
                return FlowCommandError(
                    "kubernetes exec \(path): timed out after \(KubernetesClient.describe(TimeAmount(timeout)))")
            }
            if error is FlowCommandError || error is KubernetesAPIError { return error }
            return FlowCommandError("kubernetes API GET \(path): \(error)")
        }
        return try await withTaskCancellationHandler {
            do {
                switch try await connection.upgrade.get() {
                case .refused(let response):
                    let refused = try await response.get()
                    channel.close(promise: nil)
                    let parsed = try? JSONValue.parse(refused.body.readableBytesView)
                    let status = UInt(refused.head.status.code)
                    throw KubernetesAPIError(
                        status: status,
                        message: KubernetesClient.failureMessage(
                            status: status, body: parsed, raw: refused.body, method: "GET", path: path))
                case .upgraded(let webSocket, let subprotocol):
                    guard let subprotocol, KubernetesExec.subprotocols.contains(subprotocol) else {
                        try? await webSocket.channel.close()
                        throw FlowCommandError(
                            "kubernetes API GET \(path): the API server did not agree to \(KubernetesExec.subprotocols.joined(separator: " or ")) (got \(subprotocol.map(CommandInputs.quote) ?? "none"))"
                        )
                    }
                    let streams = try await read(webSocket)
                    if timedOut.isSet || Task.isCancelled { throw ChannelError.ioOnClosedChannel }
                    return streams
                }
            } catch {
                throw failure(error)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Reads the channel streams until the server's close frame (or the end of the connection).
    private static func read(_ webSocket: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) async throws -> Streams {
        try await webSocket.executeThenClose { inbound, outbound in
            var streams = Streams()
            for try await frame in inbound {
                switch frame.opcode {
                case .binary:
                    var data = frame.unmaskedData
                    switch data.readInteger(as: UInt8.self) {
                    case 1?: streams.stdout.append(data)
                    case 2?: streams.stderr.append(data)
                    case 3?: streams.status.append(data)
                    default: break  // an empty message, or a stream not asked for
                    }
                case .ping:
                    try await outbound.write(
                        WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData))
                case .connectionClose:
                    var data = frame.unmaskedData
                    let code = data.readSlice(length: 2) ?? ByteBuffer()
                    try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code))
                    return streams
                default:
                    continue
                }
            }
            return streams
        }
    }

    /// Sets up TLS (for https) and the HTTP/1.1 upgrade to a WebSocket.
    private static func configure(_ channel: any Channel, _ target: Target) throws -> EventLoopFuture<Upgrade> {
        if let context = target.sslContext {
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: context, serverHostname: target.serverHostname))
        }
        let gate = EndOfStreamGate()
        try channel.pipeline.syncOperations.addHandler(gate)
        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
            maxFrameSize: maximumMessageBytes,
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                            maxAccumulatedFrameSize: maximumMessageBytes))
                    let webSocket = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
                    return .upgraded(webSocket, subprotocol: head.headers.first(name: "Sec-WebSocket-Protocol"))
                }
            })
        let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.uri, headers: target.headers)
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(
            upgradeConfiguration: NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                upgradeRequestHead: request, upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let collector = RefusedResponseCollector(promise: channel.eventLoop.makePromise())
                        try channel.pipeline.syncOperations.addHandler(collector)
                        return .refused(collector.future)
                    }
                }))
        configuration.leftOverBytesStrategy = .forwardBytes
        let upgrade = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
        upgrade.assumeIsolated().whenComplete { _ in gate.open() }
        return upgrade
    }

    /// Where to connect and what to send.
    private struct Target: Sendable {
        var host: String
        var port: Int
        var uri: String
        var headers: HTTPHeaders
        var sslContext: NIOSSLContext?
        var serverHostname: String?

        init(_ client: KubernetesClient, path: String, query: [(String, String)]) throws {
            guard let url = URL(string: client.baseURL), var host = url.host, !host.isEmpty else {
                throw FlowCommandError("Kubernetes API server URL \"\(client.baseURL)\" has no host")
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let tls = client.tlsConfiguration != nil
            self.host = host
            port = url.port ?? (tls ? 443 : 80)
            uri = url.path + path + "?" + KubernetesClient.queryString(query)
            let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            let hostField = host.contains(":") ? "[\(host)]" : host
            headers = HTTPHeaders()
            headers.add(name: "Host", value: url.port.map { "\(hostField):\($0)" } ?? hostField)
            headers.add(name: "User-Agent", value: "claiflow-agent")
            headers.add(name: "Sec-WebSocket-Protocol", value: KubernetesExec.subprotocols.joined(separator: ", "))
            if let token = try client.bearerToken() {
                headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            serverHostname = isIP ? nil : host
            if let configuration = client.tlsConfiguration {
                do {
                    sslContext = try NIOSSLContext(configuration: configuration)
                } catch {
                    throw FlowCommandError("the Kubernetes TLS settings are not usable: \(error)")
                }
            }
        }
    }
}

/// A response that refused the upgrade: its head and the first 64 KiB of its body.
private struct RefusedResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
}

/// Collects the response that refused an upgrade (a `Status` body, usually).
private final class RefusedResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<RefusedResponse>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var done = false

    init(promise: EventLoopPromise<RefusedResponse>) { self.promise = promise }

    var future: EventLoopFuture<RefusedResponse> { promise.futureResult }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var part):
            if body.readableBytes < 1 << 16 { body.writeBuffer(&part) }
        case .end: finish(nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error)
        context.close(promise: nil)
    }

    private func finish(_ error: (any Error)?) {
        guard !done else { return }
        done = true
        if let head {
            promise.succeed(RefusedResponse(head: head, body: body))
        } else {
            promise.fail(error ?? ChannelError.eof)
        }
    }
}

/// Holds back the end of the connection between a `101 Switching Protocols` head and the end of
/// the upgrade. NIO's HTTP decoder, removed during the upgrade, drops the bytes that followed the
/// 101 when the connection's end has already reached it — as when the API server sends a short
/// command's whole output, its status and the close right behind the 101.
private final class EndOfStreamGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The response's first bytes, until its head is complete.
    private var head: ByteBuffer? = ByteBuffer()
    private var holding = false
    private var endPending = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if var bytes = head {
            var part = unwrapInboundIn(data)
            bytes.writeBuffer(&part)
            let view = bytes.readableBytesView
            if let end = view.firstRange(of: Array("\r\n\r\n".utf8)) {
                holding = view[view.startIndex..<end.lowerBound].starts(with: Array("HTTP/1.1 101".utf8))
                head = nil
            } else {
                head = bytes.readableBytes < 1 << 16 ? bytes : nil
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if holding {
            endPending = true
        } else {
            context.fireChannelInactive()
        }
    }

    /// The upgrade is decided and its buffered bytes are on their way: let the end follow them.
    func open() {
        holding = false
        guard endPending, let context else { return }
        endPending = false
        context.eventLoop.assumeIsolated().execute { context.fireChannelInactive() }
    }
}

/// Set once, from the event loop, when a connection's timeout passes.
private final class TimeoutFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
