import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Foundation
import NIOCore

/// The `prometheus.*` commands over the Prometheus HTTP API.
enum PrometheusCommands {
    /// The largest response body accepted.
    static let maximumResponseBytes = 64 * 1024 * 1024
    /// The per-request timeout, as the original.
    static let timeout = TimeAmount.seconds(10)

    static func register(into catalog: inout CommandCatalog, httpClient: HTTPClient) {
        catalog.register("prometheus.query.v1") { call in
            let inputs = try CommandInputs(call)
            var form = [("query", try inputs.requiredString("query"))]
            if let time = try inputs.nonEmptyString("time") { form.append(("time", time)) }
            return try await send(httpClient, inputs, "/api/v1/query", form: form)
        }
        catalog.register("prometheus.query_range.v1") { call in
            let inputs = try CommandInputs(call)
            let form = [
                ("query", try inputs.requiredString("query")),
                ("start", try inputs.requiredString("start")),
                ("end", try inputs.requiredString("end")),
                ("step", try step(inputs)),
            ]
            return try await send(httpClient, inputs, "/api/v1/query_range", form: form)
        }
        for (command, path) in [
            ("prometheus.alerts.v1", "/api/v1/alerts"),
            ("prometheus.rules.v1", "/api/v1/rules"),
            ("prometheus.alertmanagers.v1", "/api/v1/alertmanagers"),
            ("prometheus.targets.v1", "/api/v1/targets"),
        ] {
            catalog.register(command) { call in
                try await send(httpClient, try CommandInputs(call), path)
            }
        }
        catalog.register("prometheus.targets/metadata.v1") { call in
            let inputs = try CommandInputs(call)
            var query: [(String, String)] = []
            for key in ["match_target", "metric", "limit"] {
                if let value = try scalar(inputs, key) { query.append((key, value)) }
            }
            return try await send(httpClient, inputs, "/api/v1/targets/metadata", query: query)
        }
    }

    /// `step`: a string (seconds or a Prometheus duration such as `30s`) or a number of seconds.
    static func step(_ inputs: CommandInputs) throws -> String {
        switch inputs.value("step") {
        case .string(let text)? where !text.isEmpty: return text
        case .integer(let number)?: return String(number)
        case .number(let number)? where number.isFinite: return String(number)
        case nil, .string?: throw FlowCommandError("\"step\" is required")
        case let other?: throw CommandInputs.typeError("step", expected: "a string or a number", got: other)
        }
    }

    /// An optional string input that may also be given as a number (`limit`).
    static func scalar(_ inputs: CommandInputs, _ key: String) throws -> String? {
        switch inputs.value(key) {
        case nil: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        case .integer(let number)?: return String(number)
        case let other?: throw CommandInputs.typeError(key, expected: "a string", got: other)
        }
    }

    /// The base URL: `http://` is added when there is no scheme; a trailing `/` is dropped.
    static func baseURL(_ inputs: CommandInputs) throws -> String {
        var url = try inputs.requiredString("url").trimmingCharacters(in: .whitespaces)
        if !url.contains("://") { url = "http://" + url }
        while url.hasSuffix("/") { url.removeLast() }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host != nil
        else {
            throw FlowCommandError("\"url\" must be an http(s) URL, got \(CommandInputs.quote(url))")
        }
        return url
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(KubernetesClient.escapeQuery($0.0))=\(KubernetesClient.escapeQuery($0.1))" }.joined(separator: "&")
    }

    /// Calls the API and returns the envelope's `data`.
    static func send(
        _ httpClient: HTTPClient, _ inputs: CommandInputs, _ path: String,
        query: [(String, String)] = [], form: [(String, String)]? = nil
    ) async throws -> JSONValue {
        var url = try baseURL(inputs) + path
        if !query.isEmpty { url += "?" + encode(query) }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "claiflow-agent")
        if let form {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: encode(form)))
        } else {
            request.method = .GET
        }
        let status: UInt
        let bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: timeout)
            status = response.status.code
            bytes = try await response.body.collect(upTo: maximumResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw FlowCommandError("prometheus \(path): timed out after 10 s")
        } catch is CancellationError {
            throw CancellationError()
        } catch  where Task.isCancelled {
            throw CancellationError()
        } catch {
            throw FlowCommandError("prometheus \(path): \(error)")
        }
        let envelope = try? JSONValue.parse(bytes.readableBytesView)
        if status >= 400 {
            if let envelope, case .string(let message)? = envelope.field("error") {
                throw FlowCommandError("prometheus \(path): HTTP \(status): \(errorText(envelope, message))")
            }
            let body = String(decoding: bytes.readableBytesView.prefix(1024), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw FlowCommandError("prometheus \(path): HTTP \(status): \(body.isEmpty ? "no body" : body)")
        }
        guard let envelope, case .object = envelope else {
            throw FlowCommandError("prometheus \(path): the response is not a JSON object")
        }
        guard case .string("success")? = envelope.field("status") else {
            let message: String
            if case .string(let text)? = envelope.field("error") { message = text } else { message = "status is not success" }
            throw FlowCommandError("prometheus \(path): \(errorText(envelope, message))")
        }
        return envelope.field("data") ?? .null
    }

    static func errorText(_ envelope: JSONValue, _ message: String) -> String {
        if case .string(let type)? = envelope.field("errorType"), !type.isEmpty { return "\(type): \(message)" }
        return message
    }
}
