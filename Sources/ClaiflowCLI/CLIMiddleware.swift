import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Sends the API key, and turns what goes wrong on the way into a `CLIError` that names the
/// server and says what to check: the server's own message for an error response, the reason
/// for a connection that failed.
struct CLIMiddleware: ClientMiddleware {
    let server: String
    let apiKey: String

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(apiKey)"
        let (response, responseBody): (HTTPResponse, HTTPBody?)
        do {
            (response, responseBody) = try await next(request, body, baseURL)
        } catch {
            throw CLIError(
                "cannot reach the server at \(server): \(Self.reason(error)). Check that it is running and that "
                    + "--server, \(CLIConnectionOptions.serverVariable) or the context (`claiflow context list`) names it.",
                exitCode: CLIExitCode.unreachable)
        }
        guard response.status.kind != .successful else { return (response, responseBody) }
        var text = ""
        if let responseBody, let data = try? await Data(collecting: responseBody, upTo: 1 << 20) {
            text = String(decoding: data, as: UTF8.self)
            if let error = try? JSONDecoder().decode(ServerError.self, from: data) { text = error.message }
        }
        let code = response.status.code
        switch code {
        case 401:
            throw CLIError(
                "the server at \(server) refused the API key (401: \(text)). Check --api-key, "
                    + "\(CLIConnectionOptions.apiKeyVariable) or the context's key; `claiflow login` stores a new one.",
                exitCode: CLIExitCode.unauthorized)
        case 403:
            throw CLIError(
                "the API key's role may not do this on \(server) (403: \(text))", exitCode: CLIExitCode.unauthorized)
        default:
            throw CLIError(text.isEmpty ? "the server at \(server) answered \(code)" : "\(text) (HTTP \(code))")
        }
    }

    /// The shortest useful reason of a transport error (`connection refused`, …).
    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("connection refused") || lower.contains("connectionrefused") { return "connection refused" }
        if lower.contains("timeout") || lower.contains("timedout") { return "timed out" }
        if lower.contains("nameresolution") || lower.contains("unknown host") { return "the host name does not resolve" }
        return text
    }
}

/// The body of every error response: `{"code": N, "message": "…"}`.
struct ServerError: Decodable {
    let code: Int
    let message: String
}
