import ClaiflowCore
import ClaiflowFlow
import Foundation
import Logging

/// The `helm.*` commands, run through the `helm` v3 CLI.
enum HelmCommands {
    /// The default timeout of operations that wait, as the original.
    static let defaultTimeout = "300s"

    static func register(into catalog: inout CommandCatalog, helmPath: String?, searchPath: String?, logger: Logger) {
        let helm = HelmRunner(configuredPath: helmPath, searchPath: searchPath, logger: logger)
        catalog.register("helm.install") { call in
            let inputs = try CommandInputs(call)
            return try await install(inputs, helm, upgrade: false)
        }
        catalog.register("helm.upgrade") { call in
            let inputs = try CommandInputs(call)
            return try await install(inputs, helm, upgrade: true)
        }
        catalog.register("helm.uninstall") { call in
            let inputs = try CommandInputs(call)
            let name = try inputs.requiredString("name")
            let namespace = try inputs.requiredString("namespace")
            let output = try await helm.run([
                "uninstall", name, "--namespace", namespace, "--wait", "--timeout", defaultTimeout,
            ])
            return .object([
                "name": .string(name), "namespace": .string(namespace), "status": .string("uninstalled"),
                "message": .string(output.trimmed),
            ])
        }
        catalog.register("helm.get_values") { call in
            let inputs = try CommandInputs(call)
            var arguments = [
                "get", "values", try inputs.requiredString("name"), "--namespace", try inputs.requiredString("namespace"),
                "--output", "json",
            ]
            if try inputs.bool("all") == true { arguments.append("--all") }
            let values = try await helm.runJSON(arguments)
            return values == .null ? .object([:]) : values
        }
        catalog.register("helm.history") { call in
            let inputs = try CommandInputs(call)
            let name = try inputs.requiredString("name")
            let namespace = try inputs.requiredString("namespace")
            let history = try await helm.runJSON(["history", name, "--namespace", namespace, "--output", "json"])
            guard case .array(let entries) = history else {
                throw FlowCommandError("helm history: expected a JSON array, got \(history.typeName)")
            }
            return .array(entries.reversed().map { historyEntry($0, name: name, namespace: namespace) })
        }
        catalog.register("helm.rollback") { call in
            let inputs = try CommandInputs(call)
            let name = try inputs.requiredString("name")
            let namespace = try inputs.requiredString("namespace")
            var arguments = ["rollback", name]
            let revision = try inputs.integer("revision")
            if let revision, revision > 0 { arguments.append(String(revision)) }
            arguments += [
                "--namespace", namespace, "--wait", "--cleanup-on-fail", "--history-max", "20", "--timeout",
                defaultTimeout,
            ]
            let output = try await helm.run(arguments)
            var result: [String: JSONValue] = [
                "name": .string(name), "namespace": .string(namespace), "message": .string(output.trimmed),
            ]
            if let revision, revision > 0 { result["revision"] = .integer(Int64(revision)) }
            return .object(result)
        }
        catalog.register("helm.repo_add") { call in
            let inputs = try CommandInputs(call)
            let name = try inputs.requiredString("repo_name")
            let url = try inputs.requiredString("repo_url")
            let output = try await helm.run(["repo", "add", name, url])
            return .object(["name": .string(name), "url": .string(url), "message": .string(output.trimmed)])
        }
        catalog.register("helm.repo_list") { _ in
            do {
                let list = try await helm.runJSON(["repo", "list", "--output", "json"])
                return list == .null ? .array([]) : list
            } catch let error as HelmError where error.stderr.contains("no repositories to show") {
                return .array([])
            }
        }
        catalog.register("helm.repo_update") { call in
            let inputs = try CommandInputs(call)
            let name = try inputs.requiredString("repo_name")
            let output = try await helm.run(["repo", "update", name])
            return .object(["name": .string(name), "message": .string(output.trimmed)])
        }
    }

    /// `helm install` / `helm upgrade` with the original's options, output mapped to the original's shape.
    static func install(_ inputs: CommandInputs, _ helm: HelmRunner, upgrade: Bool) async throws -> JSONValue {
        let name = try inputs.requiredString("name")
        let namespace = try inputs.requiredString("namespace")
        let chartName = try inputs.requiredString("chart_name")
        let repoURL = try inputs.nonEmptyString("repo_url")
        let repoName = try inputs.nonEmptyString("repo_name")
        var arguments = [upgrade ? "upgrade" : "install", name]
        if let repoURL {
            arguments += [chartName, "--repo", repoURL]
        } else if let repoName {
            arguments.append("\(repoName)/\(chartName)")
        } else {
            throw FlowCommandError("\"repo_url\" or \"repo_name\" is required")
        }
        arguments += ["--namespace", namespace]
        if upgrade {
            arguments += ["--wait", "--atomic", "--cleanup-on-fail", "--history-max", "20"]
            if try inputs.bool("reuse_values") == true { arguments.append("--reuse-values") }
        } else {
            arguments += ["--create-namespace", "--wait", "--wait-for-jobs", "--atomic"]
        }
        if let version = try inputs.nonEmptyString("chart_version") { arguments += ["--version", version] }
        if let minutes = try inputs.integer("timeout"), minutes > 0 {
            arguments += ["--timeout", "\(minutes)m"]
        } else {
            arguments += ["--timeout", defaultTimeout]
        }
        var valuesFile: URL?
        if let values = try inputs.object("values") {
            let file = FileManager.default.temporaryDirectory
                .appendingPathComponent("claiflow-helm-values-\(UUID().uuidString).json")
            // JSON is YAML; the file is private to the agent's user and removed right after.
            guard
                FileManager.default.createFile(
                    atPath: file.path, contents: Data(JSONValue.object(values).serialized().utf8),
                    attributes: [.posixPermissions: 0o600])
            else {
                throw FlowCommandError("cannot write the values file \(file.path)")
            }
            valuesFile = file
            arguments += ["--values", file.path]
        }
        defer { if let valuesFile { try? FileManager.default.removeItem(at: valuesFile) } }
        arguments += ["--output", "json"]
        let release = try await helm.runJSON(arguments)
        return releaseSummary(release)
    }

    /// The original's release shape: name, namespace, status, revision, last_deployed, notes?,
    /// user_supplied_values?.
    static func releaseSummary(_ release: JSONValue) -> JSONValue {
        guard case .object = release else { return release }
        var out: [String: JSONValue] = [:]
        out["name"] = release.field("name") ?? .string("")
        out["namespace"] = release.field("namespace") ?? .string("")
        let info = release.field("info")
        out["status"] = info?.field("status") ?? .string("")
        out["revision"] = release.field("version") ?? .integer(0)
        out["last_deployed"] = info?.field("last_deployed") ?? .string("")
        if case .string(let notes)? = info?.field("notes"), !notes.isEmpty { out["notes"] = .string(notes) }
        if case .object(let config)? = release.field("config"), !config.isEmpty { out["user_supplied_values"] = .object(config) }
        return .object(out)
    }

    /// One `helm history` entry in the original's shape (plus helm's own `chart`).
    static func historyEntry(_ entry: JSONValue, name: String, namespace: String) -> JSONValue {
        guard case .object(var out) = entry else { return entry }
        out["namespace"] = .string(namespace)
        out["release_name"] = .string(name)
        if case .string(let chart)? = entry.field("chart") {
            let (chartName, chartVersion) = splitChart(chart)
            out["chart_name"] = .string(chartName)
            out["chart_version"] = .string(chartVersion ?? "MISSING")
        }
        return .object(out)
    }

    /// Splits helm's `<name>-<version>` at the last `-` that starts a dotted version.
    static func splitChart(_ chart: String) -> (String, String?) {
        var index = chart.endIndex
        while let dash = chart[chart.startIndex..<index].lastIndex(of: "-") {
            let version = chart[chart.index(after: dash)...]
            if let first = version.first, first.isNumber, version.contains(".") {
                return (String(chart[..<dash]), String(version))
            }
            index = dash
        }
        return (chart, nil)
    }
}

/// A failed helm invocation.
struct HelmError: Error, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stderr: String

    var description: String {
        let subcommand = arguments.prefix(while: { !$0.hasPrefix("-") }).prefix(2).joined(separator: " ")
        var text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
        return "helm \(subcommand) failed (exit status \(status)): \(text.isEmpty ? "no error output" : text)"
    }
}

/// Finds and runs the helm CLI.
struct HelmRunner: Sendable {
    let configuredPath: String?
    /// nil: the process's `PATH` at call time.
    let searchPath: String?
    let logger: Logger

    /// The executable: the configured path, else `helm` on `PATH` now.
    func executable() throws -> String {
        if let configuredPath {
            guard FileManager.default.isExecutableFile(atPath: configuredPath) else {
                throw FlowCommandError("helm CLI not found at \(configuredPath)")
            }
            return configuredPath
        }
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"]
        guard let found = ProcessRunner.find("helm", path: path) else {
            throw FlowCommandError("helm CLI not found on PATH")
        }
        return found
    }

    /// Runs helm and returns stdout; a non-zero exit throws with helm's error text.
    func run(_ arguments: [String]) async throws -> String {
        let path = try executable()
        logger.debug("helm", metadata: ["arguments": "\(arguments)"])
        let output: ProcessRunner.Output
        do {
            output = try await ProcessRunner.run(path, arguments)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw FlowCommandError("cannot run \(path): \(error.localizedDescription)")
        }
        guard output.status == 0 else {
            throw HelmError(arguments: arguments, status: output.status, stderr: output.stderrText)
        }
        return output.stdoutText
    }

    /// Runs helm with `--output json` and parses stdout.
    func runJSON(_ arguments: [String]) async throws -> JSONValue {
        let text = try await run(arguments)
        do {
            return try JSONValue.parse(text)
        } catch {
            throw FlowCommandError("helm \(arguments.prefix(2).joined(separator: " ")) did not print JSON: \(error.message)")
        }
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
