import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Foundation
import NIOCore

/// `http.request`: one HTTP(S) request; any response status is a result, not a failure.
enum HTTPRequestCommand {
    static let name = "http.request"
    /// The largest response body accepted.
    static let maximumResponseBytes = 16 * 1024 * 1024
    /// The default timeout in seconds.
    static let defaultTimeout = 30.0

    static func register(into catalog: inout CommandCatalog, httpClient: HTTPClient) {
        catalog.register(name) { call in
            try await run(try CommandInputs(call), httpClient)
        }
    }

    static func run(_ inputs: CommandInputs, _ httpClient: HTTPClient) async throws -> JSONValue {
        let method = (try inputs.nonEmptyString("method") ?? "GET").uppercased()
        guard method.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) else {
            throw FlowCommandError("\"method\" must be an HTTP method name, got \(CommandInputs.quote(method))")
        }
        let url = try inputs.requiredString("url")
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host != nil
        else {
            throw FlowCommandError("\"url\" must be an http or https URL, got \(CommandInputs.quote(url))")
        }
        let timeout = try inputs.number("timeout") ?? defaultTimeout
        guard timeout > 0, timeout <= 86_400 else {
            throw FlowCommandError("\"timeout\" must be a number of seconds between 0 and 86400")
        }

        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        var hasContentType = false
        for (name, value) in (try inputs.object("headers") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let text = value.scalarText else {
                throw FlowCommandError("\"headers\": the value of \(CommandInputs.quote(name)) must be a string")
            }
            if name.lowercased() == "content-type" { hasContentType = true }
            request.headers.add(name: name, value: text)
        }
        switch inputs.value("body") {
        case nil: break
        case .string(let text)?:
            request.body = .bytes(ByteBuffer(string: text))
        case let json?:
            if !hasContentType { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(string: json.serialized()))
        }

        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .nanoseconds(Int64(timeout * 1e9)))
            bytes = try await response.body.collect(upTo: maximumResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw FlowCommandError("\(method) \(url): timed out after \(formatSeconds(timeout)) s")
        } catch is NIOTooManyBytesError {
            throw FlowCommandError("\(method) \(url): the response body exceeds \(maximumResponseBytes / 1024 / 1024) MiB")
        } catch is CancellationError {
            throw CancellationError()
        } catch  where Task.isCancelled {
            // AsyncHTTPClient ends a cancelled request with its own error: the step was cancelled
            // (a `$timeout`, or the service canceled), not failed.
            throw CancellationError()
        } catch {
            throw FlowCommandError("\(method) \(url): \(error)")
        }

        var headers: [String: JSONValue] = [:]
        for header in response.headers {
            let name = header.name.lowercased()
            if case .string(let existing)? = headers[name] {
                headers[name] = .string(existing + ", " + header.value)
            } else {
                headers[name] = .string(header.value)
            }
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let body: JSONValue
        if mediaType == "application/json" || mediaType.hasSuffix("+json"), bytes.readableBytes > 0,
            let json = try? JSONValue.parse(bytes.readableBytesView)
        {
            body = json
        } else {
            body = .string(String(decoding: bytes.readableBytesView, as: UTF8.self))
        }
        return .object([
            "status": .integer(Int64(response.status.code)),
            "headers": .object(headers),
            "body": body,
        ])
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int64(seconds)) : String(seconds)
    }
}
