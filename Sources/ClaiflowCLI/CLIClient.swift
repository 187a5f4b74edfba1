import AsyncHTTPClient
import ClaiflowAPIClient
import Foundation
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// The generated API client for one server and key, with the look-ups the commands share.
public struct CLIClient: Sendable {
    /// The server's base URL as given.
    public let server: String
    /// The generated client: every request goes through it.
    public let api: Client

    /// A client for `server` that sends `apiKey`.
    public init(server: String, apiKey: String) throws {
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()),
            url.host != nil
        else {
            throw CLIError.usage("the server must be an http:// or https:// URL, got \"\(server)\"")
        }
        self.server = server
        self.api = Client(
            serverURL: url,
            configuration: Configuration(dateTranscoder: MicrosecondDateTranscoder()),
            transport: AsyncHTTPClientTransport(configuration: .init(client: Self.http)),
            middlewares: [CLIMiddleware(server: server, apiKey: apiKey)])
    }

    /// The process's HTTP client (never shut down: it lives as long as the process). A command
    /// fails at once when the server cannot be reached, instead of retrying the connection until
    /// the request's deadline as a long-running service would.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A `q` condition that a column equals a value.
    static func equals(_ column: String, _ value: String) -> String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"eq":{"\#(column)":"\#(escaped)"}}"#
    }

    /// Whether `text` can be an identifier (else a look-up by uuid is pointless: the server
    /// answers 404 for it).
    static func mayBeIdentifier(_ text: String) -> Bool {
        (1...32).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}
