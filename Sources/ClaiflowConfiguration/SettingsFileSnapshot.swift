import Configuration
import Foundation
import Yams

/// A claiflow config file as a swift-configuration file snapshot: the values are swift-configuration's
/// `YAMLSnapshot`; on top of it this checks the flat shape the commands accept (a mapping of keys
/// to plain scalars, or an empty file) and keeps the file's keys, so that a ``SettingsReader``
/// can refuse a key that is not a setting.
public struct SettingsFileSnapshot: FileConfigSnapshot {
    /// The parsing options: which keys hold secrets.
    public struct ParsingOptions: FileParsingOptions {
        /// The keys whose values are secrets (masked in swift-configuration's access events).
        public var secretKeys: Set<String>

        /// Creates options.
        public init(secretKeys: Set<String> = []) { self.secretKeys = secretKeys }

        /// No secret keys.
        public static var `default`: Self { .init() }
    }

    /// Why a file was refused.
    public enum Problem: Error, Sendable {
        /// Not YAML; the parser's message.
        case invalidYAML(String)
        /// The top level is not a mapping.
        case notAMapping
        /// A key is not a string or a value is a list or a mapping.
        case notAScalar
    }

    /// The name of the provider that read the file.
    public let providerName: String
    /// The top-level keys of the file, in file order.
    public let keys: [String]
    /// The values; nil for an empty file.
    private let values: YAMLSnapshot?

    /// Parses the file's bytes.
    public init(data: RawSpan, providerName: String, parsingOptions: ParsingOptions) throws {
        self.providerName = providerName
        let text = data.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw Problem.invalidYAML("\(error)")
        }
        guard let root else {
            keys = []
            values = nil
            return
        }
        guard let mapping = root.mapping else { throw Problem.notAMapping }
        var keys: [String] = []
        for (key, value) in mapping {
            guard let key = key.string, value.scalar != nil else { throw Problem.notAScalar }
            keys.append(key)
        }
        self.keys = keys
        do {
            values = try YAMLSnapshot(
                data: data, providerName: providerName,
                parsingOptions: .init(secretsSpecifier: .specific(parsingOptions.secretKeys)))
        } catch {
            throw Problem.invalidYAML("\(error)")
        }
    }

    /// The value of a key, from the YAML snapshot.
    public func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        guard let values else { return LookupResult(encodedKey: key.description, value: nil) }
        return try values.value(forKey: key, type: type)
    }

    /// The provider name and the number of keys.
    public var description: String { "\(providerName)[\(keys.count) keys]" }

    /// The provider name and the keys (never the values).
    public var debugDescription: String { "\(providerName)[\(keys.joined(separator: ", "))]" }
}
