import ArgumentParser
import ClaiflowCLI
import Foundation

/// `--server`, `--api-key`, `--context`: which server an operator command talks to, and with
/// which key (over `CLAIFLOW_SERVER`, `CLAIFLOW_API_KEY` and the configuration file).
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The server's URL (default: $CLAIFLOW_SERVER, else the context's).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("The API key (default: $CLAIFLOW_API_KEY, else the context's).", valueName: "key"))
    var apiKey: String?

    @Option(help: ArgumentHelp("The context to use instead of the current one.", valueName: "name"))
    var context: String?

    /// A client for the server these options (and the environment) name.
    func client() throws -> CLIClient {
        let options = CLIConnectionOptions(server: server, apiKey: apiKey, context: context)
        let (server, key) = try options.resolve(environment: ProcessInfo.processInfo.environment)
        return try CLIClient(server: server, apiKey: key)
    }
}

/// `-o table|wide|json|yaml`.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The output format: table, wide, json or yaml.")
    var output: OutputFormat = .table

    /// Prints `value` in the chosen format.
    func print<T: Encodable>(_ value: T, table: (_ wide: Bool) -> Table) throws {
        Terminal.write(try OutputPrinter(format: output).render(value, table: table))
    }
}

/// `-l/--selector`, `--query`, `--limit` of the list commands.
struct ListOptions: ParsableArguments {
    @Option(
        name: .customLong("query"), help: ArgumentHelp("A `q` condition (JSON or s-expression; see docs/api.md).", valueName: "q")
    )
    var query: String?

    @Option(help: "At most this many rows (the server's `p` limit; at most 1000).")
    var limit: Int?

    /// The `p` parameter for `--limit`.
    var page: String? { limit.map { #"{"limit":\#($0)}"# } }
}

extension OutputFormat: ExpressibleByArgument {}
