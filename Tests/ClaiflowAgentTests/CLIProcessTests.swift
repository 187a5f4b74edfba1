import ClaiflowAPIClient
import ClaiflowCLI
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

/// The operator CLI as an operator runs it: the `claiflow` binary against a real `claiflow
/// server` process on loopback (SQLite), with a real `claiflow agent` running the services.
@Suite("claiflow CLI against a server", .serialized)
struct CLIProcessTests {
    /// A server, a configuration folder for the CLI's contexts, and a way to run the CLI.
    final class Setup: @unchecked Sendable {
        let server: ServerProcess
        let config: URL
        let cleanup: @Sendable () async throws -> Void

        init(server: ServerProcess, config: URL, cleanup: @escaping @Sendable () async throws -> Void) {
            self.server = server
            self.config = config
            self.cleanup = cleanup
        }

        var url: String { "http://127.0.0.1:\(server.port)" }

        /// The CLI's environment: its configuration in the scratch folder, and no
        /// CLAIFLOW_SERVER / CLAIFLOW_API_KEY unless given.
        func environment(_ overrides: [String: String?] = [:]) -> [String: String?] {
            var env: [String: String?] = [
                "XDG_CONFIG_HOME": config.path, "CLAIFLOW_SERVER": nil, "CLAIFLOW_API_KEY": nil, "CLAIFLOW_TOKEN": nil,
                "CLAIFLOW_CLUSTER": nil,
            ]
            env.merge(overrides) { $1 }
            return env
        }

        /// Runs `claiflow ARGS` in ``environment(_:)``.
        func cli(_ arguments: [String], environment overrides: [String: String?] = [:]) async throws -> ClaiflowBinary.Outcome {
            try await ClaiflowBinary.run(arguments, environment: environment(overrides))
        }

        /// Runs the CLI and expects exit status 0.
        func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let r = try await cli(arguments)
            #expect(r.status == 0, "claiflow \(arguments.joined(separator: " ")): \(r.stderr)", sourceLocation: sourceLocation)
            return r.stdout
        }

        static func start() async throws -> Setup {
            let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.sqlite)
            let server = try await ServerProcess.start(databaseURL: url)
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(Identifier.generate())")
            try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
            return Setup(server: server, config: config, cleanup: cleanup)
        }

        func stop() async {
            server.stop()
            try? FileManager.default.removeItem(at: config)
            try? await cleanup()
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONInput.decode(type, from: Data(text.utf8), what: "the CLI's output")
    }

    static func with(_ body: (Setup) async throws -> Void) async throws {
        let setup = try await Setup.start()
        do {
            try await body(setup)
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("login stores a 0600 context; a bad key and a dead server say what to check")
    func loginAndErrors() async throws {
        try await Self.with { s in
            let none = try await s.cli(["cluster", "list"])
            #expect(none.status == CLIExitCode.usage)
            #expect(none.stderr.contains("claiflow login"))

            let badLogin = try await s.cli(["login", "--server", s.url, "--api-key", "cfk_wrong"])
            #expect(badLogin.status == CLIExitCode.unauthorized)
            #expect(badLogin.stderr.contains("the server at \(s.url) refused the API key"), "\(badLogin.stderr)")
            #expect(badLogin.stderr.contains("--api-key"))

            let login = try await s.cli(["login", "--server", s.url, "--api-key", ServerProcess.adminToken, "--context", "local"])
            #expect(login.status == 0, "\(login.stderr)")
            let file = s.config.appendingPathComponent("claiflow/config.yaml").path
            let mode = try #require(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode == 0o600)
            let contexts = try await s.ok(["context", "list"])
            #expect(contexts.contains("*") && contexts.contains("local") && contexts.contains(s.url))
            #expect(!contexts.contains(ServerProcess.adminToken))
            // The stored context serves the next commands.
            #expect(try await s.ok(["cluster", "list"]).hasPrefix("UUID"))

            let badKey = try await s.cli(["cluster", "list", "--api-key", "cfk_nope"])
            #expect(badKey.status == CLIExitCode.unauthorized)
            #expect(badKey.stderr.contains("refused the API key"))

            let port = try ServerProcess.freePort()
            let dead = try await s.cli(["cluster", "list"], environment: ["CLAIFLOW_SERVER": "http://127.0.0.1:\(port)"])
            #expect(dead.status == CLIExitCode.unreachable)
            #expect(dead.stderr.contains("cannot reach the server at http://127.0.0.1:\(port)"), "\(dead.stderr)")
            #expect(dead.stderr.contains("connection refused"), "\(dead.stderr)")

            let missing = try await s.cli(["cluster", "get", "nope"])
            #expect(missing.status == CLIExitCode.failure)
            #expect(missing.stderr.contains("no cluster with uuid or name \"nope\""))

            let usage = try await s.cli(["cluster", "list", "-o", "xml"])
            #expect(usage.status == CLIExitCode.usage)
            let serverError = try await s.cli(["cluster", "create", "bad", "--uuid", "not valid!"])
            #expect(serverError.status == CLIExitCode.failure)
            #expect(serverError.stderr.contains("(HTTP 400)"), "\(serverError.stderr)")
        }
    }

    @Test("every verb of clusters and tokens; -o json parses into the API's objects")
    func clustersAndTokens() async throws {
        try await Self.with { s in
            _ = try await s.ok(["login", "--server", s.url, "--api-key", ServerProcess.adminToken])
            let created = try Self.decode(
                Components.Schemas.Cluster.self,
                try await s.ok([
                    "cluster", "create", "prod-eu-1", "--uuid", "c1", "-l", "env=prod", "-l", "region=eu", "-o", "json",
                ]))
            #expect(created.uuid == "c1" && created.labels.additionalProperties == ["env": "prod", "region": "eu"])
            _ = try await s.ok(["cluster", "create", "dev-1", "--uuid", "c2", "-l", "env=dev"])

            let table = try await s.ok(["cluster", "list"])
            let lines = table.split(separator: "\n")
            #expect(lines.first?.hasPrefix("UUID") == true && lines.count == 3)
            #expect(lines.contains { $0.contains("prod-eu-1") && $0.contains("active") && $0.contains("env=prod,region=eu") })
            let selected = try Self.decode(
                [Components.Schemas.Cluster].self, try await s.ok(["cluster", "list", "-l", "env=prod", "-o", "json"]))
            #expect(selected.map(\.uuid) == ["c1"])
            let limited = try Self.decode(
                [Components.Schemas.Cluster].self, try await s.ok(["cluster", "list", "--limit", "1", "-o", "json"]))
            #expect(limited.count == 1)
            let queried = try Self.decode(
                [Components.Schemas.Cluster].self,
                try await s.ok(["cluster", "list", "--query", #"{"eq":{"name":"dev-1"}}"#, "-o", "json"]))
            #expect(queried.map(\.uuid) == ["c2"])

            let yaml = try await s.ok(["cluster", "get", "prod-eu-1", "-o", "yaml"])
            #expect(yaml.contains("uuid: c1") && yaml.contains("paused: false"))
            let updated = try Self.decode(
                Components.Schemas.Cluster.self,
                try await s.ok(["cluster", "update", "c1", "--summary", "Frankfurt", "-o", "json"]))
            #expect(updated.summary == "Frankfurt")
            let labeled = try Self.decode(
                Components.Schemas.Cluster.self, try await s.ok(["cluster", "label", "c1", "tier=web", "region-", "-o", "json"]))
            #expect(labeled.labels.additionalProperties == ["env": "prod", "tier": "web"])
            let paused = try Self.decode(
                Components.Schemas.Cluster.self, try await s.ok(["cluster", "pause", "c1", "-o", "json"]))
            #expect(paused.paused)
            #expect(try await s.ok(["cluster", "get", "c1"]).contains("paused"))
            let resumed = try Self.decode(
                Components.Schemas.Cluster.self, try await s.ok(["cluster", "resume", "c1", "-o", "json"]))
            #expect(!resumed.paused)

            // Tokens.
            let token = try Self.decode(
                Components.Schemas.ClusterToken.self, try await s.ok(["token", "create", "c1", "--uuid", "t1", "-o", "json"]))
            #expect(token.clusterUuid == "c1" && token.name == "prod-eu-1 agent" && (token.token?.count ?? 0) >= 16)
            let shown = try await s.ok(["token", "create", "c2", "--uuid", "t2"])
            #expect(shown.contains("Secret (shown once): "))
            let tokens = try Self.decode(
                [Components.Schemas.ClusterToken].self, try await s.ok(["token", "list", "--cluster", "prod-eu-1", "-o", "json"]))
            #expect(tokens.map(\.uuid) == ["t1"] && tokens[0].token == nil)
            let expired = try Self.decode(
                Components.Schemas.ClusterToken.self, try await s.ok(["token", "expire", "t1", "-o", "json"]))
            #expect(expired.expirationTime <= Date())
            #expect(try await s.ok(["token", "list"]).contains("expired"))
            let refreshed = try Self.decode(
                Components.Schemas.ClusterToken.self, try await s.ok(["token", "refresh", "t1", "-o", "json"]))
            #expect(refreshed.expirationTime > Date())
            #expect(try await s.ok(["token", "delete", "t2"]).contains("deleted"))
            let afterDelete = try Self.decode(
                [Components.Schemas.ClusterToken].self, try await s.ok(["token", "list", "-o", "json"]))
            #expect(afterDelete.map(\.uuid) == ["t1"])

            #expect(try await s.ok(["cluster", "delete", "dev-1"]).contains("deleted"))
            let gone = try await s.cli(["cluster", "get", "c2"])
            #expect(gone.status == CLIExitCode.failure)
        }
    }

    @Test("service run --wait exits 0 with the result as JSON, 1 when the service failed; every service verb")
    func services() async throws {
        try await Self.with { s in
            _ = try await s.ok(["login", "--server", s.url, "--api-key", ServerProcess.adminToken])
            _ = try await s.ok(["cluster", "create", "c1", "--uuid", "c1", "-l", "env=prod"])
            _ = try await s.ok(["cluster", "create", "idle", "--uuid", "idle"])
            let token = try Self.decode(
                Components.Schemas.ClusterToken.self, try await s.ok(["token", "create", "c1", "-o", "json"]))
            let agent = try AgentProcess(serverPort: s.server.port, cluster: "c1", token: try #require(token.token))
            defer { agent.stop() }

            let echo = s.config.appendingPathComponent("echo.yaml")
            try """
            name: echo-it
            flow:
              - {$id: e, $command: claiflow.echo, inputs: {said: $inputs.word, n: $inputs.n}}
            inputs: {type: object, required: [word], properties: {word: {type: string}, n: {type: integer}}}
            """.write(to: echo, atomically: true, encoding: .utf8)
            let template = try Self.decode(
                Components.Schemas.Template.self, try await s.ok(["template", "create", "-f", echo.path, "-o", "json"]))
            #expect(template.name == "echo-it")
            let failing = s.config.appendingPathComponent("fail.json")
            try #"{"name":"fail-it","flow":[{"$id":"s","$command":"claiflow.sleep","inputs":{}}]}"#
                .write(to: failing, atomically: true, encoding: .utf8)
            _ = try await s.ok(["template", "create", "-f", failing.path])
            #expect(try await s.ok(["template", "list", "--query", #"(like name "%-it")"#]).contains("echo-it"))
            #expect(try await s.ok(["template", "get", "echo-it", "-o", "yaml"]).contains("name: echo-it"))

            // Success: the result is printed as JSON (not a JSON string), exit 0.
            let inputs = s.config.appendingPathComponent("in.yaml")
            try "word: from-file\nn: 1\n".write(to: inputs, atomically: true, encoding: .utf8)
            let ran = try await s.cli([
                "service", "run", "echo-it", "--cluster", "c1", "--uuid", "s1", "--inputs-file", inputs.path, "--input", "n=7",
                "--wait",
            ])
            #expect(ran.status == 0, "\(ran.stderr)")
            let result = try JSONValue.parse(ran.stdout)
            #expect(ran.stdout.contains("\"said\" : \"from-file\""), "\(ran.stdout)")
            #expect(ran.stdout.contains("\"n\" : 7"), "\(ran.stdout)")
            if case .object = result {} else { Issue.record("not a JSON object: \(ran.stdout)") }
            #expect(ran.stderr.contains("c1/s1: step 1/1 succeeded"), "\(ran.stderr)")

            // Failure: exit 1 with the status and the agent's message.
            let failed = try await s.cli(["service", "run", "fail-it", "--cluster", "c1", "--uuid", "s2", "--wait"])
            #expect(failed.status == CLIExitCode.failure, "\(failed.stderr)")
            #expect(failed.stderr.contains("service s2 on c1 failed"), "\(failed.stderr)")
            #expect(failed.stderr.contains("seconds"), "\(failed.stderr)")

            // A usage error: exit 2.
            let usage = try await s.cli(["service", "run", "echo-it", "--wait"])
            #expect(usage.status == CLIExitCode.usage)
            let badInput = try await s.cli(["service", "run", "echo-it", "--cluster", "c1", "--input", "nokey"])
            #expect(badInput.status == CLIExitCode.usage)
            let schema = try await s.cli(["service", "run", "echo-it", "--cluster", "c1", "--input", "n=1"])
            #expect(schema.status == CLIExitCode.failure)
            #expect(schema.stderr.contains("inputs"), "\(schema.stderr)")

            // list, get, result, watch, cancel.
            let listed = try Self.decode(
                [Components.Schemas.Service].self, try await s.ok(["service", "list", "--cluster", "c1", "-o", "json"]))
            #expect(Set(listed.map(\.uuid)) == ["s1", "s2"])
            let failedOnly = try await s.ok(["service", "list", "--status", "failed"])
            #expect(failedOnly.contains("s2") && !failedOnly.contains("s1") && failedOnly.contains("failed"))
            let got = try Self.decode(Components.Schemas.Service.self, try await s.ok(["service", "get", "s1", "-o", "json"]))
            #expect(got.status == ._4 && got.results?.count == 1)
            #expect(try await s.ok(["service", "get", "s1", "--cluster", "c1"]).contains("succeeded"))
            let resultOnly = try await s.ok(["service", "result", "s1"])
            #expect(try JSONValue.parse(resultOnly) == result)
            let watched = try await s.cli(["service", "watch", "s1", "--cluster", "c1"])
            #expect(watched.status == 0 && watched.stdout == ran.stdout)
            #expect(try await s.cli(["service", "watch", "s2"]).status == CLIExitCode.failure)

            // A service on a cluster without an agent stays queued until canceled.
            let queued = try Self.decode(
                [Components.Schemas.Service].self,
                try await s.ok([
                    "service", "run", "echo-it", "--cluster", "idle", "--uuid", "s3", "--input", "word=x", "-o", "json",
                ]))
            #expect(queued.first?.status == ._0)
            // Ctrl-C while waiting detaches: it says so, exits 130 and cancels nothing.
            let waiting = try ClaiflowBinary.start(
                ["service", "watch", "s3", "--cluster", "idle"], environment: s.environment(), onExit: { _ in })
            defer { try? FileManager.default.removeItem(at: waiting.folder) }
            #expect(try await waitUntil(timeout: .seconds(30)) { waiting.stderrText.contains("idle/s3: step 1/1 regist") })
            kill(waiting.process.processIdentifier, SIGINT)
            #expect(try await waitUntil(timeout: .seconds(30)) { !waiting.process.isRunning })
            #expect(waiting.process.terminationStatus == CLIExitCode.detached)
            #expect(waiting.stderrText.contains("Detached: the service goes on."), "\(waiting.stderrText)")
            let untouched = try Self.decode(
                Components.Schemas.Service.self, try await s.ok(["service", "get", "s3", "-o", "json"]))
            #expect(untouched.status == ._0)

            let canceled = try Self.decode(
                Components.Schemas.Service.self, try await s.ok(["service", "cancel", "s3", "-o", "json"]))
            #expect(canceled.status == ._16)
            let again = try await s.cli(["service", "cancel", "s3"])
            #expect(again.status == CLIExitCode.failure && again.stderr.contains("(HTTP 409)"), "\(again.stderr)")

            // A fleet run over the selector, waited for, reduced.
            let run = try await s.cli([
                "run", "create", "echo-it", "-l", "env=prod", "--input", "word=$cluster.name", "--input", "n=1", "--max-parallel",
                "1", "--wait",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("c1") && run.stdout.contains("succeeded"), "\(run.stdout)")
            let reduced = try await s.cli([
                "run", "create", "echo-it", "--cluster", "c1", "--input", "word=w", "--input", "n=2", "--wait", "--reduce",
                "map(.result.said) | add",
            ])
            #expect(reduced.status == 0, "\(reduced.stderr)")
            #expect(reduced.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"w\"", "\(reduced.stdout)")
            let runs = try Self.decode([Components.Schemas.Run].self, try await s.ok(["run", "list", "-o", "json"]))
            #expect(runs.count == 2 && runs.allSatisfy { $0.state == .succeeded })

            #expect(try await s.ok(["template", "delete", "fail-it"]).contains("deleted"))
        }
    }
}
