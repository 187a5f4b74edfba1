import ClaiflowCore
import ClaiflowFlow

/// Typed access to a command's inputs object, with the error texts every built-in command uses.
///
/// Keys are matched exactly. A JSON `null` counts as absent, as in the original agent, and absent
/// inputs (a step without `inputs`) count as an empty object.
struct CommandInputs: Sendable {
    /// The command name, for error texts.
    let command: String
    /// The members of the inputs object.
    let members: [String: JSONValue]

    init(_ call: FlowCommandCall) throws {
        try self.init(command: call.command, inputs: call.inputs)
    }

    init(command: String, inputs: JSONValue?) throws {
        self.command = command
        switch inputs {
        case nil, .null?: members = [:]
        case .object(let object)?: members = object
        case let other?: throw FlowCommandError("inputs must be an object, got \(other.typeName)")
        }
    }

    /// The raw value of a key; nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    /// A required, non-empty string.
    func requiredString(_ key: String) throws -> String {
        guard let text = try string(key), !text.isEmpty else {
            throw FlowCommandError("\(Self.quote(key)) is required")
        }
        return text
    }

    /// An optional string; nil when absent or null. An empty string is returned as is.
    func string(_ key: String) throws -> String? {
        switch value(key) {
        case nil: return nil
        case .string(let text)?: return text
        case let other?: throw Self.typeError(key, expected: "a string", got: other)
        }
    }

    /// An optional string that is nil when empty as well.
    func nonEmptyString(_ key: String) throws -> String? {
        guard let text = try string(key), !text.isEmpty else { return nil }
        return text
    }

    /// An optional boolean.
    func bool(_ key: String) throws -> Bool? {
        switch value(key) {
        case nil: return nil
        case .bool(let flag)?: return flag
        case let other?: throw Self.typeError(key, expected: "a boolean", got: other)
        }
    }

    /// An optional number (integer or not).
    func number(_ key: String) throws -> Double? {
        switch value(key) {
        case nil: return nil
        case .integer(let number)?: return Double(number)
        case .number(let number)?:
            guard number.isFinite else { throw FlowCommandError("\(Self.quote(key)) must be a finite number") }
            return number
        case let other?: throw Self.typeError(key, expected: "a number", got: other)
        }
    }

    /// An optional integer; a number with a fraction is truncated, as the original did.
    func integer(_ key: String) throws -> Int? {
        guard let number = try number(key) else { return nil }
        guard let integer = Int(exactly: number.rounded(.towardZero)) else {
            throw FlowCommandError("\(Self.quote(key)) is out of range")
        }
        return integer
    }

    /// An optional object.
    func object(_ key: String) throws -> [String: JSONValue]? {
        switch value(key) {
        case nil: return nil
        case .object(let object)?: return object
        case let other?: throw Self.typeError(key, expected: "an object", got: other)
        }
    }

    /// An optional array.
    func array(_ key: String) throws -> [JSONValue]? {
        switch value(key) {
        case nil: return nil
        case .array(let array)?: return array
        case let other?: throw Self.typeError(key, expected: "an array", got: other)
        }
    }

    static func typeError(_ key: String, expected: String, got value: JSONValue) -> FlowCommandError {
        FlowCommandError("\(quote(key)) must be \(expected), got \(value.typeName)")
    }

    static func quote(_ text: String) -> String {
        var out = ""
        JSONValue.writeString(text, into: &out)
        return out
    }
}

extension JSONValue {
    /// The text of a scalar for places that stringify values (label selectors, headers).
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .bool, .integer, .number: serialized()
        case .null, .array, .object: nil
        }
    }
}
