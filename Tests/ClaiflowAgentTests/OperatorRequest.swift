import AsyncHTTPClient
import ClaiflowCore
import NIOCore
import NIOHTTP1

/// A response of the operator API as the agent tests see it.
struct Reply: Sendable {
    let status: Int
    let body: String
    let headers: HTTPHeaders

    var json: JSONValue? { try? JSONValue.parse(body) }
    func string(_ key: String) -> String? {
        if case .string(let s) = json?.field(key) { return s }
        return nil
    }
}

/// Operator requests with the admin token of the test servers (in process or a child process).
enum OperatorRequest {
    static let adminToken = "test-admin-token-0123456789abcdef"

    /// Sends one request to the server on `port` on loopback.
    static func send(
        port: Int, _ method: HTTPMethod, _ path: String, json: String?, timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: body), headers: response.headers)
    }
}
