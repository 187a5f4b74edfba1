import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A real claiflow server on a loopback port chosen by the OS, with a fresh store, driven over
/// real HTTP.
struct TestServer: Sendable {
    static let adminToken = "test-admin-token-0123456789abcdef"

    let port: Int
    /// The gRPC port, when `configure` turned gRPC on (`grpcPort = 0`).
    let grpcPort: Int?
    let app: ClaiflowServerApp
    var store: Store { app.store }

    /// A response as the tests see it.
    struct Reply: Sendable {
        let status: Int
        let body: String
        let headers: HTTPHeaders

        var json: JSONValue? { try? JSONValue.parse(body) }
        /// The error message of an error body.
        var message: String {
            if case .string(let s) = json?.field("message") { return s }
            return ""
        }
        func string(_ key: String) -> String? {
            if case .string(let s) = json?.field(key) { return s }
            return nil
        }
        var array: [JSONValue] {
            if case .array(let a) = json { return a }
            return []
        }
    }

    /// Runs `body` against a server on a fresh store of `kind`; `databaseURL` reuses a database instead.
    static func with<T: Sendable>(
        _ kind: StoreKind = .sqlite, databaseURL: String? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let (url, cleanup): (String, @Sendable () async throws -> Void)
        if let databaseURL {
            (url, cleanup) = (databaseURL, {})
        } else {
            (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
        }
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.database = url
        config.adminToken = adminToken
        config.logLevel = .warning
        config.settingsRefreshInterval = .milliseconds(100)
        config.grpcPort = nil
        configure(&config)
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let (grpcStream, grpcContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await ClaiflowServerApp.build(
            configuration: config, logger: logger, onServerRunning: { portContinuation.yield($0) },
            onGRPCRunning: { grpcContinuation.yield($0) })
        let group = ServiceGroup(services: [app.application], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ClaiflowError(.internal, "server did not start") }
        var grpcPort: Int?
        if config.grpcPort != nil {
            var it = grpcStream.makeAsyncIterator()
            grpcPort = await it.next()
        }
        let server = TestServer(port: port, grpcPort: grpcPort, app: app)
        do {
            let result = try await body(server)
            await group.triggerGracefulShutdown()
            _ = await running.result
            await app.store.close()
            try await cleanup()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.result
            await app.store.close()
            try? await cleanup()
            throw error
        }
    }

    /// Sends a request. `key` is the bearer key (the admin token unless given; nil sends none).
    func request(
        _ method: HTTPMethod, _ path: String, json: String? = nil, key: String? = TestServer.adminToken,
        headers: [(String, String)] = [], contentType: String? = "application/json"
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let json {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: body), headers: response.headers)
    }

    /// A query string with `q`, `o`, `p` percent-encoded.
    static func query(_ path: String, q: String? = nil, o: String? = nil, p: String? = nil) -> String {
        var items: [String] = []
        func enc(_ s: String) -> String {
            s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
        }
        if let q { items.append("q=" + enc(q)) }
        if let o { items.append("o=" + enc(o)) }
        if let p { items.append("p=" + enc(p)) }
        return items.isEmpty ? path : path + "?" + items.joined(separator: "&")
    }
}
