import ClaiflowCore

/// The keywords a schema is interpreted with: a draft plus, for 2020-12, the vocabularies its
/// meta-schema enables.
struct Dialect: Hashable, Sendable {
    var draft: JSONSchema.Draft
    var applicator = true
    var unevaluated = true
    var validation = true
    var formatAssertion = false

    static let draft7 = Dialect(draft: .draft7)
    static let draft2020 = Dialect(draft: .draft2020_12)

    init(draft: JSONSchema.Draft) {
        self.draft = draft
        if draft == .draft7 { unevaluated = false }
    }
}

/// Turns schema documents into a `CompiledSchema`.
///
/// Two passes: *discovery* walks every document that gets loaded, following only
/// schema-valued keywords, and records for each subschema its base URI, resource and dialect
/// (registering `$id`, `$anchor` and `$dynamicAnchor`); *compilation* then builds one node per
/// subschema location, resolving references to node indexes. References are looked up, never
/// expanded, so `$ref` cycles compile to cycles of indexes.
final class SchemaCompiler {
    struct Location: Hashable {
        let doc: Int
        let pointer: String
    }

    struct Info {
        let base: String
        let resource: Int32
        let dialect: Dialect
        let value: JSONValue
    }

    struct Document {
        let uri: String
        let value: JSONValue
    }

    struct Resource {
        let uri: String
        let location: Location
        var anchors: [String: Location] = [:]
        var dynamicAnchors: [String: Location] = [:]
    }

    /// Deepest nesting of subschemas accepted in a document.
    static let maxNesting = 200
    /// Most documents (root, remotes, meta-schemas) one compilation may load.
    static let maxDocuments = 100
    /// Most subschemas one compilation may produce.
    static let maxNodes = 200_000
    /// Base URI of a root schema without `$id`.
    static let defaultBaseURI = "urn:claiflow:schema"

    let options: JSONSchema.Options
    let loader: RemoteSchemaLoader?

    private var documents: [Document] = []
    /// What discovery recorded for each subschema location (read by `KeywordBuilder`).
    private(set) var infos: [Location: Info] = [:]
    private var discoveryOrder: [Location] = []
    private var resources: [Resource] = []
    private var resourceByURI: [String: Int32] = [:]
    private var dialectCache: [String: Dialect] = [:]
    private var dialectsInProgress: Set<String> = []

    private var nodes: [SchemaNode?] = []
    private var nodeByLocation: [Location: NodeID] = [:]
    private var pending: [(NodeID, Location)] = []
    /// Set by `KeywordBuilder` when a schema uses `$dynamicRef`.
    var usesDynamicRef = false

    init(options: JSONSchema.Options, loader: RemoteSchemaLoader?) {
        self.options = options
        self.loader = loader
    }

    // MARK: Entry point

    func compile(_ schema: JSONValue) throws(ClaiflowError) -> (CompiledSchema, JSONSchema.Draft) {
        let rootLocation = Location(doc: 0, pointer: "")
        var dialect = Dialect(draft: options.defaultDraft)
        let base = Self.defaultBaseURI
        documents.append(Document(uri: base, value: schema))
        if case .object(let obj) = schema, let declared = obj["$schema"] {
            guard case .string(let uri) = declared else {
                throw error(at: rootLocation, keyword: "$schema", "must be a string, got \(declared.typeName)")
            }
            dialect = try resolveDialect(uri, at: rootLocation)
        }
        let resource = newResource(uri: base, at: rootLocation)
        try discover(schema, at: rootLocation, base: base, dialect: dialect, resource: resource, depth: 0)

        let root = try node(for: rootLocation)
        // Every subschema of the root document is compiled (so a mistake in an unused
        // definition is still reported), in document order for deterministic errors.
        for location in discoveryOrder where location.doc == 0 {
            _ = try node(for: location)
        }
        try drain()
        if usesDynamicRef { try compileDynamicAnchors() }

        var finished: [SchemaNode] = []
        finished.reserveCapacity(nodes.count)
        for n in nodes {
            guard let n else { throw ClaiflowError(.internal, "JSON schema compilation left a node unfinished") }
            finished.append(n)
        }
        let dynamicAnchors: [[String: NodeID]] = resources.map { resource in
            var table: [String: NodeID] = [:]
            for (name, location) in resource.dynamicAnchors {
                if let id = nodeByLocation[location] { table[name] = id }
            }
            return table
        }
        return (CompiledSchema(nodes: finished, root: root, dynamicAnchors: dynamicAnchors), dialect.draft)
    }

    private func drain() throws(ClaiflowError) {
        var head = 0
        while head < pending.count {
            let (id, location) = pending[head]
            head += 1
            nodes[Int(id)] = try compileNode(at: location)
        }
        pending.removeAll()
    }

    /// A `$dynamicRef` may land on the `$dynamicAnchor` of any resource in the dynamic scope, so
    /// those of every resource that has compiled nodes are compiled too.
    private func compileDynamicAnchors() throws(ClaiflowError) {
        var done: Set<Int32> = []
        while true {
            let used = Set(nodes.compactMap { $0?.resource }).union(pending.compactMap { infos[$0.1]?.resource })
            let todo = used.subtracting(done).sorted()
            if todo.isEmpty { return }
            for r in todo {
                done.insert(r)
                for (_, location) in resources[Int(r)].dynamicAnchors.sorted(by: { $0.key < $1.key }) {
                    _ = try node(for: location)
                }
            }
            try drain()
        }
    }

    // MARK: Discovery

    private func newResource(uri: String, at location: Location) -> Int32 {
        let index = Int32(resources.count)
        resources.append(Resource(uri: uri, location: location))
        if resourceByURI[uri] == nil { resourceByURI[uri] = index }
        return index
    }

    private func discover(
        _ value: JSONValue, at location: Location, base: String, dialect: Dialect, resource: Int32, depth: Int
    ) throws(ClaiflowError) {
        guard depth <= Self.maxNesting else {
            throw error(at: location, keyword: nil, "subschemas are nested more than \(Self.maxNesting) levels deep")
        }
        guard case .object(let obj) = value else {
            record(location, Info(base: base, resource: resource, dialect: dialect, value: value))
            return
        }
        var base = base
        var dialect = dialect
        var resource = resource
        let draft7Ref = dialect.draft == .draft7 && obj["$ref"] != nil
        if !draft7Ref {
            if case .string(let id)? = obj["$id"] {
                if dialect.draft == .draft7 && id.hasPrefix("#") {
                    // Draft-07 plain-name fragment: a location-independent identifier.
                    let name = URIReference.percentDecoded(String(id.dropFirst()))
                    if !name.isEmpty { resources[Int(resource)].anchors[name] = location }
                } else {
                    let (uri, fragment) = URIReference.split(URIReference.resolve(id, against: base))
                    if location.pointer.isEmpty {
                        // Document root: its $id is an alias of the document's resource.
                        if resourceByURI[uri] == nil { resourceByURI[uri] = resource }
                    } else {
                        if case .string(let declared)? = obj["$schema"] {
                            dialect = try resolveDialect(declared, at: location)
                        }
                        resource = newResource(uri: uri, at: location)
                    }
                    base = uri
                    if !fragment.isEmpty && !fragment.hasPrefix("/") {
                        resources[Int(resource)].anchors[fragment] = location
                    }
                }
            }
            if dialect.draft == .draft2020_12 {
                if case .string(let name)? = obj["$anchor"] {
                    resources[Int(resource)].anchors[name] = location
                }
                if case .string(let name)? = obj["$dynamicAnchor"] {
                    if resources[Int(resource)].anchors[name] == nil {
                        resources[Int(resource)].anchors[name] = location
                    }
                    resources[Int(resource)].dynamicAnchors[name] = location
                }
            }
        }
        record(location, Info(base: base, resource: resource, dialect: dialect, value: value))
        if draft7Ref { return }

        func child(_ v: JSONValue, _ pointer: String) throws(ClaiflowError) {
            try discover(
                v, at: Location(doc: location.doc, pointer: pointer), base: base, dialect: dialect,
                resource: resource, depth: depth + 1)
        }
        for key in obj.keys.sorted() {
            guard let v = obj[key], let shape = Self.subschemaShape(key, dialect.draft) else { continue }
            let pointer = JSONPointer.appending(location.pointer, key)
            switch (shape, v) {
            case (.single, .object), (.single, .bool):
                try child(v, pointer)
            case (.single, .array(let items)) where key == "items" && dialect.draft == .draft7:
                for (i, item) in items.enumerated() { try child(item, pointer + "/\(i)") }
            case (.array, .array(let items)):
                for (i, item) in items.enumerated() { try child(item, pointer + "/\(i)") }
            case (.map, .object(let members)):
                for name in members.keys.sorted() {
                    guard let member = members[name] else { continue }
                    if case .array = member, key == "dependencies" { continue }
                    try child(member, JSONPointer.appending(pointer, name))
                }
            default:
                continue
            }
        }
    }

    private func record(_ location: Location, _ info: Info) {
        if infos.updateValue(info, forKey: location) == nil { discoveryOrder.append(location) }
    }

    private enum Shape { case single, array, map }

    /// How a keyword holds subschemas, if it does.
    private static func subschemaShape(_ keyword: String, _ draft: JSONSchema.Draft) -> Shape? {
        switch keyword {
        case "additionalProperties", "propertyNames", "contains", "if", "then", "else", "not", "items":
            return .single
        case "allOf", "anyOf", "oneOf":
            return .array
        case "properties", "patternProperties", "definitions", "$defs", "dependencies":
            return .map
        case "additionalItems":
            return draft == .draft7 ? .single : nil
        case "prefixItems":
            return draft == .draft2020_12 ? .array : nil
        case "unevaluatedItems", "unevaluatedProperties", "contentSchema":
            return draft == .draft2020_12 ? .single : nil
        case "dependentSchemas":
            return draft == .draft2020_12 ? .map : nil
        default:
            return nil
        }
    }

    /// Makes sure a location that no discovery reached (a `$ref` into an unknown keyword or
    /// under a draft-07 `$ref`) is known, discovering it with what its nearest known ancestor
    /// implies.
    private func ensureDiscovered(_ location: Location, value: JSONValue) throws(ClaiflowError) {
        if infos[location] != nil { return }
        var tokens = JSONPointer.tokens(location.pointer) ?? []
        var ancestor: Info?
        while !tokens.isEmpty {
            tokens.removeLast()
            let pointer = tokens.map { "/" + JSONPointer.escape($0) }.joined()
            if let info = infos[Location(doc: location.doc, pointer: pointer)] {
                ancestor = info
                break
            }
        }
        guard let ancestor else {
            throw error(at: location, keyword: nil, "cannot locate the enclosing schema")
        }
        try discover(
            value, at: location, base: ancestor.base, dialect: ancestor.dialect, resource: ancestor.resource,
            depth: 0)
    }

    // MARK: Dialects and documents

    /// The dialect a `$schema` URI selects: draft-07, 2020-12, or a custom meta-schema (which
    /// must be loadable) whose `$vocabulary` selects the 2020-12 vocabularies in use.
    private func resolveDialect(_ uri: String, at location: Location) throws(ClaiflowError) -> Dialect {
        if let draft = JSONSchema.Draft(uri: uri) { return Dialect(draft: draft) }
        let (metaURI, _) = URIReference.split(uri)
        if let cached = dialectCache[metaURI] { return cached }
        let unsupported =
            "unsupported $schema \"\(uri)\": use \"\(JSONSchema.Draft.draft7.rawValue)\" or \"\(JSONSchema.Draft.draft2020_12.rawValue)\" (or a meta-schema built on them)"
        guard !dialectsInProgress.contains(metaURI) else {
            throw error(at: location, keyword: "$schema", unsupported)
        }
        dialectsInProgress.insert(metaURI)
        defer { dialectsInProgress.remove(metaURI) }
        guard let resource = try loadDocument(metaURI, inheritedDialect: .draft2020),
            let info = infos[resources[Int(resource)].location],
            case .object(let meta) = info.value
        else {
            throw error(at: location, keyword: "$schema", unsupported)
        }
        var dialect = info.dialect
        if dialect.draft == .draft2020_12, case .object(let vocabularies)? = meta["$vocabulary"] {
            let prefix = "https://json-schema.org/draft/2020-12/vocab/"
            dialect.applicator = false
            dialect.unevaluated = false
            dialect.validation = false
            for (vocabulary, requiredValue) in vocabularies {
                let required = requiredValue == .bool(true)
                switch vocabulary {
                case prefix + "applicator": dialect.applicator = true
                case prefix + "unevaluated": dialect.unevaluated = true
                case prefix + "validation": dialect.validation = true
                case prefix + "format-assertion": dialect.formatAssertion = true
                case prefix + "core", prefix + "meta-data", prefix + "format-annotation", prefix + "content": break
                default:
                    if required {
                        throw error(
                            at: location, keyword: "$schema",
                            "meta-schema \"\(metaURI)\" requires the unsupported vocabulary \"\(vocabulary)\"")
                    }
                }
            }
        }
        dialectCache[metaURI] = dialect
        return dialect
    }

    /// The resource of a document loaded by URI (embedded meta-schema or the loader); nil when
    /// there is no such document.
    private func loadDocument(_ uri: String, inheritedDialect: Dialect) throws(ClaiflowError) -> Int32? {
        if let known = resourceByURI[uri] { return known }
        guard let value = MetaSchemas.document(uri) ?? loader?(uri) else { return nil }
        guard documents.count < Self.maxDocuments else {
            throw ClaiflowError(.invalidArgument, "invalid JSON schema: more than \(Self.maxDocuments) documents referenced")
        }
        let location = Location(doc: documents.count, pointer: "")
        documents.append(Document(uri: uri, value: value))
        var dialect = inheritedDialect
        if case .object(let obj) = value, case .string(let declared)? = obj["$schema"] {
            dialect = try resolveDialect(declared, at: location)
        }
        let resource = newResource(uri: uri, at: location)
        try discover(value, at: location, base: uri, dialect: dialect, resource: resource, depth: 0)
        return resource
    }

    // MARK: References

    /// Resolves a reference to the location of its target, loading documents as needed.
    func resolveReference(
        _ reference: String, from location: Location, base: String, keyword: String
    )
        throws(ClaiflowError) -> Location
    {
        let absolute = URIReference.resolve(reference, against: base)
        let (uri, fragment) = URIReference.split(absolute)
        let inherited = infos[location]?.dialect ?? Dialect(draft: options.defaultDraft)
        let resourceIndex: Int32
        if let known = resourceByURI[uri] {
            resourceIndex = known
        } else if let loaded = try loadDocument(uri, inheritedDialect: inherited) {
            resourceIndex = loaded
        } else {
            let why =
                loader == nil
                ? "remote references are not supported" : "the loader has no document \"\(uri)\""
            throw error(at: location, keyword: keyword, "cannot resolve \"\(reference)\": \(why)")
        }
        let resource = resources[Int(resourceIndex)]
        if fragment.isEmpty { return resource.location }
        if fragment.hasPrefix("/") {
            guard let tokens = JSONPointer.tokens(fragment) else {
                throw error(at: location, keyword: keyword, "cannot resolve \"\(reference)\": malformed JSON pointer")
            }
            let rootTokens = JSONPointer.tokens(resource.location.pointer) ?? []
            let document = documents[resource.location.doc].value
            guard let target = JSONPointer.resolve(rootTokens + tokens, in: document) else {
                throw error(at: location, keyword: keyword, "cannot resolve \"\(reference)\": no such location")
            }
            let pointer = (rootTokens + tokens).map { "/" + JSONPointer.escape($0) }.joined()
            let targetLocation = Location(doc: resource.location.doc, pointer: pointer)
            try ensureDiscovered(targetLocation, value: target)
            return targetLocation
        }
        guard let target = resource.anchors[fragment] else {
            throw error(at: location, keyword: keyword, "cannot resolve \"\(reference)\": no anchor \"\(fragment)\"")
        }
        return target
    }

    // MARK: Nodes

    /// The node index for a subschema location, queued for compilation on first use.
    func node(for location: Location) throws(ClaiflowError) -> NodeID {
        if let id = nodeByLocation[location] { return id }
        guard nodes.count < Self.maxNodes else {
            throw ClaiflowError(.invalidArgument, "invalid JSON schema: more than \(Self.maxNodes) subschemas")
        }
        if infos[location] == nil {
            let tokens = JSONPointer.tokens(location.pointer) ?? []
            guard let value = JSONPointer.resolve(tokens, in: documents[location.doc].value) else {
                throw error(at: location, keyword: nil, "no schema at this location")
            }
            try ensureDiscovered(location, value: value)
        }
        let id = NodeID(nodes.count)
        nodes.append(nil)
        nodeByLocation[location] = id
        pending.append((id, location))
        return id
    }

    private func displayLocation(_ location: Location) -> String {
        location.doc == 0 ? location.pointer : documents[location.doc].uri + "#" + location.pointer
    }

    /// An invalid-schema error naming the location (and keyword) it was found at.
    func error(at location: Location, keyword: String?, _ message: String) -> ClaiflowError {
        var pointer = displayLocation(location)
        if let keyword { pointer = JSONPointer.appending(pointer, keyword) }
        let prefix = keyword.map { "\"\($0)\" " } ?? ""
        return ClaiflowError(.invalidArgument, "invalid JSON schema at \"\(pointer)\": \(prefix)\(message)")
    }

    private func compileNode(at location: Location) throws(ClaiflowError) -> SchemaNode {
        guard let info = infos[location] else {
            throw error(at: location, keyword: nil, "no schema at this location")
        }
        var node = SchemaNode(location: displayLocation(location), resource: info.resource)
        switch info.value {
        case .bool(let b):
            node.alwaysFalse = !b
            return node
        case .object(let obj):
            var builder = KeywordBuilder(compiler: self, location: location, info: info, object: obj)
            try builder.build()
            node.keywords = builder.keywords
            node.needsAnnotations = builder.needsAnnotations
            return node
        default:
            throw error(at: location, keyword: nil, "a schema must be an object or a boolean, got \(info.value.typeName)")
        }
    }
}
