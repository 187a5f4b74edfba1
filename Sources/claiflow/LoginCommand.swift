import ArgumentParser
import ClaiflowCLI
import Foundation

/// `claiflow login`: checks a key against a server and stores them as a context.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check an API key against a server and store both as a context (the current one).",
        discussion: """
            The context is written to $XDG_CONFIG_HOME/claiflow/config.yaml (default \
            ~/.config/claiflow/config.yaml), readable by you only. CLAIFLOW_SERVER, CLAIFLOW_API_KEY, \
            --server and --api-key override it per command.

            Examples:
              claiflow login --server https://claiflow.example.com --api-key "$KEY"
              claiflow login --server http://127.0.0.1:8099 --api-key "$KEY" --context local
            """
    )

    @Option(help: ArgumentHelp("The server's URL.", valueName: "url")) var server: String
    @Option(help: ArgumentHelp("The API key (cfk_…).", valueName: "key")) var apiKey: String
    @Option(help: ArgumentHelp("The context's name (default: the server's host and port).", valueName: "name"))
    var context: String?

    func run() async throws {
        let client = try CLIClient(server: server, apiKey: apiKey)
        // Any viewer request proves the key; one row is enough.
        _ = try await client.api.listClusters(query: .init(p: #"{"limit":1}"#)).ok
        let name =
            context ?? URL(string: server).map { url in url.host.map { $0 + (url.port.map { ":\($0)" } ?? "") } ?? server }
            ?? server
        let path = CLIConfig.path(environment: ProcessInfo.processInfo.environment)
        var config = try CLIConfig.load(path: path)
        config.upsert(CLIContext(name: name, server: server, apiKey: apiKey))
        config.currentContext = name
        try config.save(path: path)
        Terminal.error("Logged in to \(server); context \"\(name)\" saved in \(path) and made current.")
    }
}
