/// Where the server is and which key to use, from the command line: `--server`, `--api-key`
/// and `--context` override `CLAIFLOW_SERVER` / `CLAIFLOW_API_KEY`, which override the
/// configuration file's current context.
public struct CLIConnectionOptions: Sendable {
    /// `--server`.
    public var server: String?
    /// `--api-key`.
    public var apiKey: String?
    /// `--context`.
    public var context: String?

    /// Creates the options.
    public init(server: String? = nil, apiKey: String? = nil, context: String? = nil) {
        self.server = server
        self.apiKey = apiKey
        self.context = context
    }

    /// The environment variable of the server URL.
    public static let serverVariable = "CLAIFLOW_SERVER"
    /// The environment variable of the API key.
    public static let apiKeyVariable = "CLAIFLOW_API_KEY"

    /// The server and key to use: each from the flag, else the environment, else the context
    /// (`--context`, else the file's current one).
    public func resolve(environment: [String: String]) throws -> (server: String, apiKey: String) {
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        var server = nonEmpty(self.server) ?? nonEmpty(environment[Self.serverVariable])
        var apiKey = nonEmpty(self.apiKey) ?? nonEmpty(environment[Self.apiKeyVariable])
        if server == nil || apiKey == nil || context != nil {
            let path = CLIConfig.path(environment: environment)
            let config = try CLIConfig.load(path: path)
            if let name = nonEmpty(context) ?? config.currentContext {
                guard let found = config.context(named: name) else {
                    throw CLIError.usage("no context \"\(name)\" in \(path); `claiflow context list` shows them")
                }
                server = server ?? found.server
                apiKey = apiKey ?? found.apiKey
            }
        }
        guard let server else {
            throw CLIError.usage(
                "no server: run `claiflow login --server URL --api-key KEY`, or set --server or \(Self.serverVariable)")
        }
        guard let apiKey else {
            throw CLIError.usage(
                "no API key for \(server): run `claiflow login`, or set --api-key or \(Self.apiKeyVariable)")
        }
        return (server, apiKey)
    }
}
