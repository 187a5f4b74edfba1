import ClaiflowCore

/// The JSON types a `type` keyword can name, as bits.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1)
    static let boolean = TypeSet(rawValue: 2)
    static let integer = TypeSet(rawValue: 4)
    static let number = TypeSet(rawValue: 8)
    static let string = TypeSet(rawValue: 16)
    static let array = TypeSet(rawValue: 32)
    static let object = TypeSet(rawValue: 64)

    static let names: [(String, TypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
        ("string", .string), ("array", .array), ("object", .object),
    ]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init?(name: String) {
        guard let entry = Self.names.first(where: { $0.0 == name }) else { return nil }
        self = entry.1
    }

    /// Whether a value is of one of the types (`1.0` is an integer).
    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .string: return contains(.string)
        case .array: return contains(.array)
        case .object: return contains(.object)
        case .integer: return contains(.number) || contains(.integer)
        case .number(let d):
            if contains(.number) { return true }
            return contains(.integer) && JSONNumber.double(d).isIntegral
        }
    }

    var listing: String {
        Self.names.filter { contains($0.1) }.map(\.0).joined(separator: ", ")
    }
}

/// Index of a compiled node in `CompiledSchema.nodes`.
typealias NodeID = Int32

/// One keyword of a compiled schema, with its argument already decoded.
enum Keyword: Sendable {
    case ref(NodeID)
    /// `$dynamicRef`: the statically resolved target and, when that target declares a matching
    /// `$dynamicAnchor`, the anchor name looked up in the dynamic scope.
    case dynamicRef(NodeID, anchor: String?)
    case type(TypeSet)
    case enumeration(EnumValues)
    case const(JSONValue)
    case multipleOf(JSONNumber)
    case maximum(JSONNumber)
    case exclusiveMaximum(JSONNumber)
    case minimum(JSONNumber)
    case exclusiveMinimum(JSONNumber)
    case maxLength(Int)
    case minLength(Int)
    case pattern(ECMARegex)
    case format(String, FormatCheck)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    /// `contains` with its bounds (`minContains` defaults to 1, no maximum).
    case contains(NodeID, min: Int, max: Int?)
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    /// `dependentRequired`, or the array members of draft-07 `dependencies` (`keyword` says which).
    case dependentRequired([(String, [String])], keyword: String)
    /// `dependentSchemas`, or the schema members of draft-07 `dependencies`.
    case dependentSchemas([(String, NodeID)], keyword: String)
    /// `properties`, sorted by name.
    case properties([(String, NodeID)])
    case patternProperties([(ECMARegex, NodeID)])
    /// `additionalProperties` with the names and patterns of its sibling keywords.
    case additionalProperties(NodeID, known: Set<String>, patterns: [ECMARegex])
    case propertyNames(NodeID)
    /// `prefixItems` (2020-12) or array-form `items` (draft-07).
    case prefixItems([NodeID])
    /// `items` (applies from `start` on: after `prefixItems` in 2020-12, `additionalItems` after
    /// array-form `items` in draft-07). `keyword` is the name reported in violations.
    case items(NodeID, start: Int, keyword: String)
    case allOf([NodeID])
    case anyOf([NodeID])
    case oneOf([NodeID])
    case not(NodeID)
    case ifThenElse(NodeID, then: NodeID?, else: NodeID?)
    case unevaluatedItems(NodeID)
    case unevaluatedProperties(NodeID)
}

/// `enum` values, with a hashed lookup for long lists.
struct EnumValues: Sendable {
    let values: [JSONValue]
    let canonical: Set<[UInt8]>?

    init(_ values: [JSONValue]) {
        self.values = values
        canonical = values.count > 8 ? Set(values.map(JSONEquality.canonicalBytes)) : nil
    }

    func contains(_ v: JSONValue) -> Bool {
        if let canonical { return canonical.contains(JSONEquality.canonicalBytes(v)) }
        return values.contains { JSONEquality.equal($0, v) }
    }
}

/// A compiled schema (object or boolean).
struct SchemaNode: Sendable {
    /// `false` schema: nothing is valid.
    var alwaysFalse = false
    /// Keywords in evaluation order (`unevaluated*` last).
    var keywords: [Keyword] = []
    /// Where the schema sits, for `schemaPointer`: a JSON pointer in the root document, or
    /// `uri#pointer` in another document.
    var location: String
    /// The schema resource the node belongs to (for the `$dynamicRef` dynamic scope).
    var resource: Int32
    /// Whether the node has `unevaluatedProperties`/`unevaluatedItems`, so its in-place
    /// subschemas must report which properties/items they evaluated.
    var needsAnnotations = false
}

/// The immutable result of compilation, shared by every validation.
final class CompiledSchema: Sendable {
    let nodes: [SchemaNode]
    let root: NodeID
    /// Per resource: `$dynamicAnchor` name → node.
    let dynamicAnchors: [[String: NodeID]]

    init(nodes: [SchemaNode], root: NodeID, dynamicAnchors: [[String: NodeID]]) {
        self.nodes = nodes
        self.root = root
        self.dynamicAnchors = dynamicAnchors
    }
}
