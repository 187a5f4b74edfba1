import ClaiflowCore
import Configuration
import Foundation
import SystemPackage

/// A command's config file, as a swift-configuration provider, with its keys (to refuse unknown
/// ones) and the name that error messages use for it.
public struct ConfigFile: Sendable {
    /// How error messages name the file: its path, or `config file`.
    public let name: String
    /// The file's keys.
    public let keys: [String]
    /// The values.
    let provider: any ConfigProvider

    /// A file given as values (the tests' files, and an absent file).
    public init(name: String = "config file", values: [String: String]) {
        self.name = name
        keys = Array(values.keys)
        var entries: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in values { entries[AbsoluteConfigKey([key])] = ConfigValue(.string(value), isSecret: false) }
        provider = InMemoryProvider(name: name, values: entries)
    }

    /// Reads a YAML file through swift-configuration's `FileProvider`.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - secretKeys: The keys whose values are secrets.
    /// - Throws: ``ClaiflowError`` `.invalidArgument` when the file cannot be read, is not YAML, is not
    ///   a mapping or holds a value that is not a plain scalar.
    public static func load(path: String, secretKeys: Set<String> = []) async throws(ClaiflowError) -> ConfigFile {
        let provider: FileProvider<SettingsFileSnapshot>
        do {
            provider = try await FileProvider(
                parsingOptions: .init(secretKeys: secretKeys), filePath: FilePath(path), allowMissing: false)
        } catch let problem as SettingsFileSnapshot.Problem {
            switch problem {
            case .invalidYAML(let reason):
                throw ClaiflowError(.invalidArgument, "config file \(path) is not valid YAML: \(reason)")
            case .notAMapping: throw ClaiflowError(.invalidArgument, "config file \(path) must be a mapping of key: value")
            case .notAScalar: throw ClaiflowError(.invalidArgument, "config file \(path): every value must be a plain scalar")
            }
        } catch {
            throw ClaiflowError(.invalidArgument, "cannot read config file \(path): \(error)")
        }
        let keys = (provider.snapshot() as? SettingsFileSnapshot)?.keys ?? []
        return ConfigFile(name: path, keys: keys, provider: provider)
    }

    private init(name: String, keys: [String], provider: any ConfigProvider) {
        self.name = name
        self.keys = keys
        self.provider = provider
    }
}
