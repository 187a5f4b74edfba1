import Foundation
import Yams

/// Reads what an operator gives as data: a JSON or YAML file, or `key=value` pairs, as the JSON
/// the API takes, decoded into the generated request types.
public enum JSONInput {
    /// The contents of a JSON or YAML file (`-` is standard input) as JSON data.
    public static func file(_ path: String) throws -> Data {
        let text: String
        do {
            text =
                path == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CLIError.usage("cannot read \(path): \(error.localizedDescription)")
        }
        if let data = text.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data)) != nil { return data }
        do {
            guard let value = try Yams.load(yaml: text) else { throw CLIError.usage("\(path) is empty") }
            return try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("\(path) is neither JSON nor YAML: \(error)")
        }
    }

    /// `key=value` pairs as a JSON object; a value that is JSON (a number, `true`, an object,
    /// a quoted string) is taken as that JSON, anything else as a string. Later pairs win, and
    /// they win over `base` (an object, e.g. from `--inputs-file`).
    public static func pairs(_ pairs: [String], over base: Data? = nil) throws -> Data {
        var object: [String: Any] = [:]
        if let base {
            guard let parsed = try? JSONSerialization.jsonObject(with: base), let dict = parsed as? [String: Any] else {
                throw CLIError.usage("the inputs file must hold an object")
            }
            object = dict
        }
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw CLIError.usage("--input takes key=value, got \"\(pair)\"")
            }
            let key = String(pair[..<eq])
            let raw = String(pair[pair.index(after: eq)...])
            if let data = raw.data(using: .utf8),
                let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            {
                object[key] = value
            } else {
                object[key] = raw
            }
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// `data` decoded as `T` (timestamps as the API writes them).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return try MicrosecondDateTranscoder().decode(text)
        }
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw CLIError.usage("\(what) does not have the expected shape: \(Self.describe(error))")
        }
    }

    /// A decoding error as a short sentence naming the path.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "(root)" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "\(path(context.codingPath)) is missing"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
