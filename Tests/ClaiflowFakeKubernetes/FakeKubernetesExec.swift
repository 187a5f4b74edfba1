import ClaiflowCore
import Foundation
import NIOCore
import NIOWebSocket

/// The `pods/exec` subresource over WebSocket, as the API server serves it (`remotecommand`'s
/// channel protocols `v5.channel.k8s.io` and `v4.channel.k8s.io`): binary messages whose first
/// byte is the stream (1 stdout, 2 stderr, 3 the final `metav1.Status`), an empty message on
/// stdout once the streams are open, then the command's output, the status and a close.
///
/// The "container" runs a few scripted commands:
/// - `echo ARGS…` writes ARGS to stdout;
/// - `sh -c "A; B; …"` runs `echo TEXT`, `echo TEXT >&2`, `exit N` and `sleep N` parts in order
///   (another part is `sh`'s "not found", exit status 127);
/// - `seq N` writes 1…N, one a line (large outputs);
/// - `sleep N` never ends (until the client goes away);
/// - `hostname` writes the pod's name;
/// - anything else fails to start, as a missing executable does.
extension FakeKubernetesAPIServer {
    /// One exec session the fake accepted.
    public struct ExecSession: Sendable, Equatable {
        public var namespace: String
        public var pod: String
        public var container: String
        public var command: [String]
        /// The negotiated WebSocket subprotocol.
        public var subprotocol: String
        public var stdin: Bool
    }

    /// Sets the channel protocols the fake speaks, in its order of preference (by default
    /// `v5.channel.k8s.io`, `v4.channel.k8s.io`, as Kubernetes 1.30 and later).
    public func speakExecSubprotocols(_ subprotocols: [String]) { execSubprotocols = subprotocols }

    /// The namespace and pod of a `/api/v1/namespaces/<ns>/pods/<name>/exec` path.
    func execTarget(_ path: String) -> (namespace: String, pod: String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 7, parts[0] == "api", parts[1] == "v1", parts[2] == "namespaces", parts[4] == "pods",
            parts[6] == "exec"
        else { return nil }
        return (parts[3], parts[5])
    }

    /// Why an exec request cannot run, as the API server answers it; nil when it can.
    func execRefusal(
        _ target: (namespace: String, pod: String), query: String?, headers: [String: String]
    )
        -> (Int, String, JSONValue?)?
    {
        let pods = Self.resource(group: "", version: "v1", name: "pods")!
        if let refusal = refusal("create", pods, subresource: "exec", name: target.pod, namespace: target.namespace) {
            return refusal
        }
        guard let pod = objects[key(pods, target.namespace, target.pod)] else { return notFound(pods, target.pod) }
        let parameters = Self.queryParameters(query)
        if parameters.filter({ $0.0 == "command" }).isEmpty {
            return (400, "", Self.status(400, "you must specify at least 1 command", "BadRequest"))
        }
        if case .string(let phase)? = pod[path: ["status", "phase"]], phase == "Succeeded" || phase == "Failed" {
            return (
                400, "",
                Self.status(400, "cannot exec into a container in a completed pod; current phase is \(phase)", "BadRequest")
            )
        }
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).compactMap { $0[path: ["name"]]?.stringValue }
        if let container = parameters.last(where: { $0.0 == "container" })?.1 {
            if !containers.contains(container) {
                return (400, "", Self.status(400, "container \(container) is not valid for pod \(target.pod)", "BadRequest"))
            }
        } else if containers.count != 1 {
            return (
                400, "",
                Self.status(
                    400,
                    "a container name must be specified for pod \(target.pod), choose one of: [\(containers.joined(separator: " "))]",
                    "BadRequest")
            )
        }
        if !Self.offeredSubprotocols(headers).contains(where: execSubprotocols.contains) {
            // golang.org/x/net/websocket refuses a handshake without a known protocol with a bare 403.
            return (403, "", nil)
        }
        return nil
    }

    /// An HTTP answer: status, content type and body.
    public struct Answer: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String
    }

    /// What becomes of an upgrade request.
    enum UpgradeDecision: Sendable {
        /// Upgrade to the exec session.
        case accept(ExecSession)
        /// Answer without upgrading: why the request cannot run.
        case refuse(Answer)
    }

    /// Decides an upgrade request: an exec that may run is accepted and recorded; anything else
    /// gets the answer the same request would get without an upgrade.
    func upgrade(path: String, query: String?, headers: [String: String]) -> UpgradeDecision {
        guard isAuthenticated(headers), let target = execTarget(path),
            execRefusal(target, query: query, headers: headers) == nil
        else {
            let (status, text, value) = handle(method: "GET", path: path, query: query, headers: headers, body: [])
            return .refuse(
                Answer(
                    status: status, contentType: value == nil ? "text/plain; charset=utf-8" : "application/json",
                    body: value?.serialized() ?? text))
        }
        let pods = Self.resource(group: "", version: "v1", name: "pods")!
        let pod = objects[key(pods, target.namespace, target.pod)]
        let parameters = Self.queryParameters(query)
        let offered = Self.offeredSubprotocols(headers)
        let container =
            parameters.last { $0.0 == "container" }?.1 ?? pod?[path: ["spec", "containers", "0", "name"]]?.stringValue ?? ""
        let session = ExecSession(
            namespace: target.namespace, pod: target.pod, container: container,
            command: parameters.filter { $0.0 == "command" }.map(\.1),
            subprotocol: execSubprotocols.first(where: offered.contains) ?? "",
            stdin: parameters.contains { $0 == ("stdin", "true") })
        requests.append(Seen(method: "GET", path: path, query: query, contentType: nil))
        execSessions.append(session)
        return .accept(session)
    }

    /// Runs the scripted command of a session on the WebSocket, then closes it as the API server
    /// does (a normal close frame).
    static func runExec(
        _ session: ExecSession, inbound: NIOAsyncChannelInboundStream<WebSocketFrame>,
        outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    ) async throws {
        func send(_ stream: UInt8, _ bytes: some Sequence<UInt8>) async throws {
            var buffer = ByteBuffer()
            buffer.writeInteger(stream)
            buffer.writeBytes(Array(bytes))
            try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, data: buffer))
        }
        try await send(1, [])  // the streams are open
        let (output, status) = script(session)
        for (stream, text) in output {
            // The API server copies output in chunks of at most 32 KiB.
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                try await send(stream, bytes.prefix(32 * 1024))
                bytes = bytes.dropFirst(32 * 1024)
            }
        }
        guard let status else {
            // A command that does not end: wait until the client goes away.
            for try await _ in inbound {}
            return
        }
        try await send(3, Array(status.serialized().utf8))
        var close = ByteBuffer()
        close.write(webSocketErrorCode: .normalClosure)
        try await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: close))
    }

    /// The output (stream, text) and the final Status of a scripted command; a nil Status for a
    /// command that never ends.
    static func script(_ session: ExecSession) -> ([(UInt8, String)], JSONValue?) {
        let command = session.command
        let success = JSONValue.object(["metadata": .object([:]), "status": .string("Success")])
        func exited(_ code: Int) -> JSONValue {
            .object([
                "metadata": .object([:]), "status": .string("Failure"),
                "message": .string(
                    "command terminated with non-zero exit code: error executing command [\(command.joined(separator: " "))], exit code \(code)"
                ),
                "reason": .string("NonZeroExitCode"),
                "details": .object([
                    "causes": .array([.object(["reason": .string("ExitCode"), "message": .string(String(code))])])
                ]),
            ])
        }
        switch command.first {
        case "echo":
            return ([(1, command.dropFirst().joined(separator: " ") + "\n")], success)
        case "hostname":
            return ([(1, session.pod + "\n")], success)
        case "seq" where command.count == 2 && Int(command[1]) != nil:
            let count = Int(command[1])!
            return ([(1, count < 1 ? "" : (1...count).map { "\($0)\n" }.joined())], success)
        case "sleep":
            return ([], nil)
        case "sh" where command.count == 3 && command[1] == "-c":
            var output: [(UInt8, String)] = []
            for part in command[2].split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
                let words = part.split(separator: " ").map(String.init)
                switch words.first {
                case "echo" where words.last == ">&2":
                    output.append((2, words.dropFirst().dropLast().joined(separator: " ") + "\n"))
                case "echo":
                    output.append((1, words.dropFirst().joined(separator: " ") + "\n"))
                case "exit":
                    let code = words.count > 1 ? Int(words[1]) ?? 2 : 0
                    return (output, code == 0 ? success : exited(code))
                case "sleep":
                    return (output, nil)
                default:
                    output.append((2, "sh: 1: \(words.first ?? ""): not found\n"))
                    return (output, exited(127))
                }
            }
            return (output, success)
        default:
            let message =
                "Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"7f3c\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"\(command.first ?? "")\": executable file not found in $PATH: unknown"
            return (
                [],
                .object([
                    "metadata": .object([:]), "status": .string("Failure"), "message": .string(message),
                    "reason": .string("InternalError"),
                    "details": .object(["causes": .array([.object(["message": .string(message)])])]), "code": .integer(500),
                ])
            )
        }
    }

    /// The subprotocols a client offered (`Sec-WebSocket-Protocol`).
    static func offeredSubprotocols(_ headers: [String: String]) -> [String] {
        (headers["sec-websocket-protocol"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The decoded name=value pairs of a query string, in order.
    static func queryParameters(_ query: String?) -> [(String, String)] {
        (query ?? "").split(separator: "&").map { pair in
            let items = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (items[0], items.count > 1 ? items[1] : "")
        }
    }
}
