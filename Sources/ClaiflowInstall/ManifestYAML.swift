import ClaiflowCore

/// A YAML value with ordered keys, written in block style the way `kubectl` users read it. Strings
/// that YAML could read as something else (`true`, `8099`, `null`, `a: b`) are double-quoted.
indirect enum ManifestYAML: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([ManifestYAML])
    case map([(String, ManifestYAML)])

    /// The document's text (without the `---` separator), ending with a newline.
    func text() -> String {
        var lines: [String] = []
        write(into: &lines, indent: 0)
        return lines.joined(separator: "\n") + "\n"
    }

    private var inline: String? {
        switch self {
        case .string(let value): Self.scalar(value)
        case .int(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .list(let items) where items.isEmpty: "[]"
        case .map(let pairs) where pairs.isEmpty: "{}"
        case .list, .map: nil
        }
    }

    private func write(into lines: inout [String], indent: Int) {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let pairs):
            for (key, value) in pairs {
                if let inline = value.inline {
                    lines.append("\(pad)\(Self.scalar(key)): \(inline)")
                } else {
                    lines.append("\(pad)\(Self.scalar(key)):")
                    value.write(into: &lines, indent: indent + 2)
                }
            }
        case .list(let items):
            for item in items {
                if let inline = item.inline {
                    lines.append("\(pad)- \(inline)")
                } else {
                    var nested: [String] = []
                    item.write(into: &nested, indent: indent + 2)
                    if let first = nested.first {
                        nested[0] = pad + "- " + first.dropFirst(indent + 2)
                    }
                    lines += nested
                }
            }
        default:
            lines.append(pad + (inline ?? ""))
        }
    }

    /// Words YAML 1.1 or 1.2 read as booleans or null.
    private static let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

    /// The string plain when it is unambiguous, else double-quoted with JSON's escapes.
    static func scalar(_ value: String) -> String {
        let plain =
            !value.isEmpty && !reserved.contains(value.lowercased())
            && value.unicodeScalars.first.map { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "/" } == true
            && value.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/": true
                default: false
                }
            }
        if plain { return value }
        // A JSON string literal is a YAML double-quoted scalar; YAML also wants DEL and the C1
        // controls escaped, which JSON leaves as they are.
        var json = ""
        JSONValue.writeString(value, into: &json)
        var quoted = ""
        for scalar in json.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                quoted += "\\u00" + String(scalar.value, radix: 16)
            } else {
                quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted
    }
}
