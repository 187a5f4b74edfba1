import Foundation
import Yams

/// The operator's contexts, kept in `$XDG_CONFIG_HOME/claiflow/config.yaml` (default
/// `~/.config/claiflow/config.yaml`), readable by its owner only (mode 0600): each context is
/// a server and an API key.
public struct CLIConfig: Codable, Sendable, Equatable {
    /// The context used when none is named.
    public var currentContext: String?
    /// The contexts, by name.
    public var contexts: [CLIContext]

    enum CodingKeys: String, CodingKey {
        case currentContext = "current-context"
        case contexts
    }

    /// An empty configuration.
    public init(currentContext: String? = nil, contexts: [CLIContext] = []) {
        self.currentContext = currentContext
        self.contexts = contexts
    }

    /// The path of the configuration file for an environment.
    public static func path(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/claiflow/config.yaml" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/claiflow/config.yaml"
    }

    /// Reads the file at `path`; an absent file is an empty configuration.
    public static func load(path: String) throws -> CLIConfig {
        guard FileManager.default.fileExists(atPath: path) else { return CLIConfig() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return CLIConfig() }
        do {
            return try YAMLDecoder().decode(CLIConfig.self, from: text)
        } catch {
            throw CLIError("\(path) is not a claiflow configuration: \(error)")
        }
    }

    /// Writes the file at `path` with mode 0600 (its folder is created with mode 0700).
    public func save(path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let text = try YAMLEncoder().encode(self)
            // Created with 0600 before anything is written, so the key is never readable by others.
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The context named `name`.
    public func context(named name: String) -> CLIContext? { contexts.first { $0.name == name } }

    /// Adds a context, or replaces the one of the same name.
    public mutating func upsert(_ context: CLIContext) {
        if let i = contexts.firstIndex(where: { $0.name == context.name }) {
            contexts[i] = context
        } else {
            contexts.append(context)
        }
    }
}

/// One server and the API key to use with it.
public struct CLIContext: Codable, Sendable, Equatable {
    /// The context's name (`claiflow context use NAME`).
    public var name: String
    /// The server's base URL, e.g. `https://claiflow.example.com`.
    public var server: String
    /// The API key (`cfk_…`).
    public var apiKey: String

    enum CodingKeys: String, CodingKey {
        case name, server
        case apiKey = "api-key"
    }

    /// Creates a context.
    public init(name: String, server: String, apiKey: String) {
        self.name = name
        self.server = server
        self.apiKey = apiKey
    }
}
