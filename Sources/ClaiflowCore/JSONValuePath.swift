extension JSONValue {
    /// The value at `path`, a list of object keys and decimal array indices, matched exactly;
    /// nil when a step is missing (an explicit `null` is returned as `.null`).
    ///
    /// Setting creates missing objects on the way, replaces an existing array element or appends
    /// at index `count`; setting nil removes an object member. A step that cannot be taken (a
    /// key into a scalar, an index out of range) leaves the value unchanged.
    ///
    /// ```swift
    /// var deployment = try JSONValue.parse(text)
    /// deployment[path: ["spec", "template", "spec", "containers", "0", "image"]] = .string("nginx:1.28")
    /// ```
    public subscript(path path: [String]) -> JSONValue? {
        get {
            var current = self
            for step in path {
                switch current {
                case .object(let members):
                    guard let next = members[step] else { return nil }
                    current = next
                case .array(let items):
                    guard let index = Int(step), items.indices.contains(index) else { return nil }
                    current = items[index]
                default:
                    return nil
                }
            }
            return current
        }
        set {
            guard let step = path.first else {
                if let newValue { self = newValue }
                return
            }
            let rest = Array(path.dropFirst())
            switch self {
            case .object(var members):
                if rest.isEmpty {
                    members[step] = newValue
                } else {
                    guard newValue != nil || members[step] != nil else { return }
                    var child = members[step] ?? .object([:])
                    child[path: rest] = newValue
                    members[step] = child
                }
                self = .object(members)
            case .array(var items):
                guard let index = Int(step), index >= 0, index <= items.count else { return }
                if index == items.count {
                    guard rest.isEmpty, let newValue else { return }
                    items.append(newValue)
                } else if rest.isEmpty {
                    guard let newValue else { return }
                    items[index] = newValue
                } else {
                    items[index][path: rest] = newValue
                }
                self = .array(items)
            case .null:
                guard newValue != nil else { return }
                self = .object([:])
                self[path: path] = newValue
            default:
                return
            }
        }
    }

    /// The text of a string; nil for anything else.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// An integer, or a number without a fraction; nil for anything else.
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value): return value == value.rounded() && abs(value) < 9e15 ? Int64(value) : nil
        default: return nil
        }
    }

    /// The elements of an array; nil for anything else.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members of an object; nil for anything else.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
