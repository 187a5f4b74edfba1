import ClaiflowCore

/// The generic JSON questions the flow engine asks of step outputs and references.
extension JSONValue {
    /// The index of the first path component that does not exist in this value, or nil when the
    /// whole path exists. Keys are strings, indices integers (negative ones count from the end).
    func firstMissing(_ path: [JSONValue]) -> Int? {
        var current = self
        for (i, component) in path.enumerated() {
            switch (current, component) {
            case (.object(let members), .string(let key)):
                guard let next = members[key] else { return i }
                current = next
            case (.array(let elements), .integer(let n)):
                let index = n < 0 ? Int(n) + elements.count : Int(n)
                guard elements.indices.contains(index) else { return i }
                current = elements[index]
            default:
                return i
            }
        }
        return nil
    }

    /// An integer, or a number without a fraction, that fits an `Int`; nil for anything else.
    var exactInt: Int? {
        switch self {
        case .integer(let i): return Int(exactly: i)
        case .number(let d): return d.rounded(.towardZero) == d ? Int(exactly: d) : nil
        default: return nil
        }
    }

    /// A short rendering of the value for messages (at most 80 characters).
    var excerpt: String {
        let text = serialized()
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    /// Whether a NaN or an infinite number is anywhere in the value.
    var containsNonFiniteNumber: Bool {
        switch self {
        case .number(let d): !d.isFinite
        case .array(let elements): elements.contains(where: \.containsNonFiniteNumber)
        case .object(let members): members.values.contains(where: \.containsNonFiniteNumber)
        default: false
        }
    }

    /// The location of a NaN or infinite number in the value (a command's outputs), if any.
    func nonFiniteNumberPath(at path: String = "outputs") -> String? {
        switch self {
        case .number(let d): return d.isFinite ? nil : path
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                if let bad = element.nonFiniteNumberPath(at: "\(path)[\(i)]") { return bad }
            }
            return nil
        case .object(let members):
            for (key, member) in members {
                if let bad = member.nonFiniteNumberPath(at: Location.appending(path, key: key)) { return bad }
            }
            return nil
        default:
            return nil
        }
    }
}
