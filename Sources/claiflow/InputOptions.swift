import ArgumentParser
import ClaiflowCLI
import OpenAPIRuntime

/// `--input key=value …` and `--inputs-file FILE`: the inputs of a service or run.
struct InputOptions: ParsableArguments {
    @Option(help: "An input key=value (repeatable); a JSON value (3, true, {\"a\":1}) is sent as JSON.")
    var input: [String] = []

    @Option(help: "A JSON or YAML file holding the inputs object (--input wins over its keys).")
    var inputsFile: String?

    /// The inputs object; `nil` when none were given.
    func object() throws -> OpenAPIObjectContainer? {
        let base = try inputsFile.map(JSONInput.file)
        return try JSONInput.decode(OpenAPIObjectContainerBox.self, from: JSONInput.pairs(input, over: base), what: "the inputs")
            .value
    }
}
