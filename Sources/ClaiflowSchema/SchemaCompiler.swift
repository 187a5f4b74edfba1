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
    private var infos: [Location: Info] = [:]
    private var discoveryOrder: [Location] = []
    private var resources: [Resource] = []
    private var resourceByURI: [String: Int32] = [:]
    private var dialectCache: [String: Dialect] = [:]
    private var dialectsInProgress: Set<String> = []

    private var nodes: [SchemaNode?] = []
    private var nodeByLocation: [Location: NodeID] = [:]
    private var pending: [(NodeID, Location)] = []
    private var usesDynamicRef = false

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
        let unsupported = "unsupported $schema \"\(uri)\": use \"\(JSONSchema.Draft.draft7.rawValue)\" or \"\(JSONSchema.Draft.draft2020_12.rawValue)\" (or a meta-schema built on them)"
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
    private func resolveReference(_ reference: String, from location: Location, base: String, keyword: String)
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

    private func node(for location: Location) throws(ClaiflowError) -> NodeID {
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

    private func error(at location: Location, keyword: String?, _ message: String) -> ClaiflowError {
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

    // MARK: Keywords

    /// Decodes the keywords of one schema object.
    private struct KeywordBuilder {
        let compiler: SchemaCompiler
        let location: Location
        let info: Info
        let object: [String: JSONValue]
        var keywords: [Keyword] = []
        var trailing: [Keyword] = []
        var needsAnnotations = false

        init(compiler: SchemaCompiler, location: Location, info: Info, object: [String: JSONValue]) {
            self.compiler = compiler
            self.location = location
            self.info = info
            self.object = object
        }

        var dialect: Dialect { info.dialect }
        var is2020: Bool { info.dialect.draft == .draft2020_12 }

        func fail(_ keyword: String, _ message: String) -> ClaiflowError {
            compiler.error(at: location, keyword: keyword, message)
        }

        /// An error about one member of a keyword's value (`/properties/a`, `/allOf/1`).
        func failMember(_ keyword: String, _ member: String, _ message: String) -> ClaiflowError {
            compiler.error(
                at: Location(
                    doc: location.doc,
                    pointer: JSONPointer.appending(JSONPointer.appending(location.pointer, keyword), member)),
                keyword: nil, message)
        }

        func subschema(_ pointerTokens: String...) throws(ClaiflowError) -> NodeID {
            var pointer = location.pointer
            for token in pointerTokens { pointer = JSONPointer.appending(pointer, token) }
            return try compiler.node(for: Location(doc: location.doc, pointer: pointer))
        }

        func schemaValue(_ keyword: String) throws(ClaiflowError) -> NodeID? {
            guard let v = object[keyword] else { return nil }
            switch v {
            case .object, .bool: return try subschema(keyword)
            default: throw fail(keyword, "must be a schema (object or boolean), got \(v.typeName)")
            }
        }

        func schemaArray(_ keyword: String) throws(ClaiflowError) -> [NodeID]? {
            guard let v = object[keyword] else { return nil }
            guard case .array(let items) = v, !items.isEmpty else {
                throw fail(keyword, "must be a non-empty array of schemas, got \(describe(v))")
            }
            var ids: [NodeID] = []
            for (i, item) in items.enumerated() {
                switch item {
                case .object, .bool: ids.append(try subschema(keyword, String(i)))
                default: throw failMember(keyword, String(i), "a schema must be an object or a boolean, got \(item.typeName)")
                }
            }
            return ids
        }

        func schemaMap(_ keyword: String) throws(ClaiflowError) -> [(String, NodeID)]? {
            guard let v = object[keyword] else { return nil }
            guard case .object(let members) = v else {
                throw fail(keyword, "must be an object whose values are schemas, got \(v.typeName)")
            }
            var result: [(String, NodeID)] = []
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                switch member {
                case .object, .bool: result.append((name, try subschema(keyword, name)))
                default: throw failMember(keyword, name, "a schema must be an object or a boolean, got \(member.typeName)")
                }
            }
            return result
        }

        func number(_ keyword: String) throws(ClaiflowError) -> JSONNumber? {
            guard let v = object[keyword] else { return nil }
            guard let n = JSONNumber(v) else { throw fail(keyword, "must be a number, got \(v.typeName)") }
            return n
        }

        func count(_ keyword: String) throws(ClaiflowError) -> Int? {
            guard let v = object[keyword] else { return nil }
            guard let n = JSONNumber(v), n.isIntegral, JSONNumber.compare(n, .integer(0)) ?? -1 >= 0 else {
                throw fail(keyword, "must be a non-negative integer, got \(describe(v))")
            }
            return Int(clamping: n.exactInteger ?? Int64.max)
        }

        func string(_ keyword: String) throws(ClaiflowError) -> String? {
            guard let v = object[keyword] else { return nil }
            guard case .string(let s) = v else { throw fail(keyword, "must be a string, got \(v.typeName)") }
            return s
        }

        func stringArray(_ v: JSONValue, _ keyword: String, member: String? = nil) throws(ClaiflowError) -> [String] {
            let problem: ClaiflowError =
                member.map { failMember(keyword, $0, "the value must be an array of strings, got \(describe(v))") }
                ?? fail(keyword, "must be an array of strings, got \(describe(v))")
            guard case .array(let items) = v else { throw problem }
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw problem }
                names.append(s)
            }
            return names
        }

        func regex(_ source: String, _ keyword: String, member: String? = nil) throws(ClaiflowError) -> ECMARegex {
            guard let r = ECMARegex(source) else {
                if let member {
                    throw failMember(keyword, member, "the property name pattern is not a valid regular expression")
                }
                throw fail(keyword, "is not a valid regular expression: \(preview(.string(source)))")
            }
            return r
        }

        func describe(_ v: JSONValue) -> String {
            switch v {
            case .integer, .number: return preview(v)
            case .array: return "array"
            default: return v.typeName
            }
        }

        mutating func build() throws(ClaiflowError) {
            if let ref = object["$ref"] {
                guard case .string(let reference) = ref else { throw fail("$ref", "must be a string, got \(ref.typeName)") }
                let target = try compiler.resolveReference(reference, from: location, base: info.base, keyword: "$ref")
                keywords.append(.ref(try compiler.node(for: target)))
                // Draft-07: "All other properties in a "$ref" object MUST be ignored."
                if !is2020 { return }
            }
            for keyword in is2020 ? ["$id", "$anchor", "$dynamicAnchor", "$comment"] : ["$id", "$comment"] {
                _ = try string(keyword)
            }
            if is2020, let ref = object["$dynamicRef"] {
                guard case .string(let reference) = ref else {
                    throw fail("$dynamicRef", "must be a string, got \(ref.typeName)")
                }
                let target = try compiler.resolveReference(
                    reference, from: location, base: info.base, keyword: "$dynamicRef")
                var anchor: String?
                let fragment = URIReference.split(URIReference.resolve(reference, against: info.base)).fragment
                if !fragment.isEmpty, !fragment.hasPrefix("/"), case .object(let targetObject)? = compiler.infos[target]?.value,
                    targetObject["$dynamicAnchor"] == .string(fragment)
                {
                    anchor = fragment
                    compiler.usesDynamicRef = true
                }
                keywords.append(.dynamicRef(try compiler.node(for: target), anchor: anchor))
            }
            if dialect.validation { try buildValidation() }
            if dialect.applicator { try buildApplicators() }
            if let name = object["format"] {
                guard case .string(let format) = name else { throw fail("format", "must be a string, got \(name.typeName)") }
                if compiler.options.assertFormats || dialect.formatAssertion, let check = FormatCheck.named(format) {
                    keywords.append(.format(format, check))
                }
            }
            if is2020 && dialect.unevaluated {
                if let sub = try schemaValue("unevaluatedItems") {
                    trailing.append(.unevaluatedItems(sub))
                    needsAnnotations = true
                }
                if let sub = try schemaValue("unevaluatedProperties") {
                    trailing.append(.unevaluatedProperties(sub))
                    needsAnnotations = true
                }
            }
            if is2020 { _ = try schemaValue("contentSchema") }  // checked; an annotation only
            keywords += trailing
        }

        mutating func buildValidation() throws(ClaiflowError) {
            if let t = object["type"] {
                var set = TypeSet()
                let names: [JSONValue]
                switch t {
                case .string: names = [t]
                case .array(let items) where !items.isEmpty: names = items
                default: names = [t]
                }
                for name in names {
                    guard case .string(let s) = name, let member = TypeSet(name: s) else {
                        throw fail(
                            "type",
                            "must be one of \(TypeSet.names.map(\.0).joined(separator: ", ")) or a non-empty array of them, got \(preview(t))"
                        )
                    }
                    set.insert(member)
                }
                keywords.append(.type(set))
            }
            if let e = object["enum"] {
                guard case .array(let values) = e else { throw fail("enum", "must be an array, got \(e.typeName)") }
                keywords.append(.enumeration(EnumValues(values)))
            }
            if let c = object["const"] { keywords.append(.const(c)) }
            if let m = try number("multipleOf") {
                guard JSONNumber.compare(m, .integer(0)) == 1 else { throw fail("multipleOf", "must be greater than 0, got \(m)") }
                keywords.append(.multipleOf(m))
            }
            if let n = try number("maximum") { keywords.append(.maximum(n)) }
            if let n = try number("exclusiveMaximum") { keywords.append(.exclusiveMaximum(n)) }
            if let n = try number("minimum") { keywords.append(.minimum(n)) }
            if let n = try number("exclusiveMinimum") { keywords.append(.exclusiveMinimum(n)) }
            if let n = try count("maxLength") { keywords.append(.maxLength(n)) }
            if let n = try count("minLength") { keywords.append(.minLength(n)) }
            if let p = try string("pattern") { keywords.append(.pattern(try regex(p, "pattern"))) }
            if let n = try count("maxItems") { keywords.append(.maxItems(n)) }
            if let n = try count("minItems") { keywords.append(.minItems(n)) }
            if let u = object["uniqueItems"] {
                guard case .bool(let unique) = u else { throw fail("uniqueItems", "must be a boolean, got \(u.typeName)") }
                if unique { keywords.append(.uniqueItems) }
            }
            if let n = try count("maxProperties") { keywords.append(.maxProperties(n)) }
            if let n = try count("minProperties") { keywords.append(.minProperties(n)) }
            if let r = object["required"] {
                let names = try stringArray(r, "required")
                if !names.isEmpty { keywords.append(.required(names)) }
            }
            if is2020, let d = object["dependentRequired"] {
                guard case .object(let members) = d else {
                    throw fail("dependentRequired", "must be an object whose values are arrays of strings, got \(d.typeName)")
                }
                var pairs: [(String, [String])] = []
                for name in members.keys.sorted() {
                    guard let member = members[name] else { continue }
                    pairs.append((name, try stringArray(member, "dependentRequired", member: name)))
                }
                keywords.append(.dependentRequired(pairs, keyword: "dependentRequired"))
            }
        }

        mutating func buildApplicators() throws(ClaiflowError) {
            // Objects.
            var known: Set<String> = []
            if let members = try schemaMap("properties") {
                known = Set(members.map(\.0))
                keywords.append(.properties(members))
            }
            var patterns: [ECMARegex] = []
            if let v = object["patternProperties"] {
                guard case .object(let members) = v else {
                    throw fail("patternProperties", "must be an object whose values are schemas, got \(v.typeName)")
                }
                var compiled: [(ECMARegex, NodeID)] = []
                for name in members.keys.sorted() {
                    let r = try regex(name, "patternProperties", member: name)
                    guard let member = members[name] else { continue }
                    switch member {
                    case .object, .bool: compiled.append((r, try subschema("patternProperties", name)))
                    default:
                        throw failMember("patternProperties", name, "a schema must be an object or a boolean, got \(member.typeName)")
                    }
                }
                patterns = compiled.map(\.0)
                keywords.append(.patternProperties(compiled))
            }
            if let sub = try schemaValue("additionalProperties") {
                keywords.append(.additionalProperties(sub, known: known, patterns: patterns))
            }
            if let sub = try schemaValue("propertyNames") { keywords.append(.propertyNames(sub)) }
            if is2020, let members = try schemaMap("dependentSchemas") {
                keywords.append(.dependentSchemas(members, keyword: "dependentSchemas"))
            }
            // Draft-07 `dependencies`; also honoured in 2020-12, whose meta-schema still
            // describes it (deprecated, split into dependentRequired/dependentSchemas).
            if let d = object["dependencies"] {
                guard case .object(let members) = d else {
                    throw fail("dependencies", "must be an object whose values are schemas or arrays of strings, got \(d.typeName)")
                }
                var required: [(String, [String])] = []
                var schemas: [(String, NodeID)] = []
                for name in members.keys.sorted() {
                    guard let member = members[name] else { continue }
                    switch member {
                    case .array: required.append((name, try stringArray(member, "dependencies", member: name)))
                    case .object, .bool: schemas.append((name, try subschema("dependencies", name)))
                    default:
                        throw failMember("dependencies", name, "a dependency must be a schema or an array of strings, got \(member.typeName)")
                    }
                }
                if !required.isEmpty { keywords.append(.dependentRequired(required, keyword: "dependencies")) }
                if !schemas.isEmpty { keywords.append(.dependentSchemas(schemas, keyword: "dependencies")) }
            }

            // Arrays.
            if is2020 {
                var start = 0
                if let subs = try schemaArray("prefixItems") {
                    keywords.append(.prefixItems(subs))
                    start = subs.count
                }
                if let sub = try schemaValue("items") { keywords.append(.items(sub, start: start, keyword: "items")) }
            } else if let items = object["items"] {
                switch items {
                case .array(let list):
                    var subs: [NodeID] = []
                    for (i, item) in list.enumerated() {
                        switch item {
                        case .object, .bool: subs.append(try subschema("items", String(i)))
                        default: throw failMember("items", String(i), "a schema must be an object or a boolean, got \(item.typeName)")
                        }
                    }
                    keywords.append(.prefixItems(subs))
                    if let sub = try schemaValue("additionalItems") {
                        keywords.append(.items(sub, start: subs.count, keyword: "additionalItems"))
                    }
                case .object, .bool:
                    keywords.append(.items(try subschema("items"), start: 0, keyword: "items"))
                default:
                    throw fail("items", "must be a schema or an array of schemas, got \(items.typeName)")
                }
            }
            if let sub = try schemaValue("contains") {
                var minimum = 1
                var maximum: Int?
                if is2020 && dialect.validation {
                    minimum = try count("minContains") ?? 1
                    maximum = try count("maxContains")
                }
                keywords.append(.contains(sub, min: minimum, max: maximum))
            }

            // Combinators last, so violations about particular members come first.
            if let subs = try schemaArray("allOf") { keywords.append(.allOf(subs)) }
            if let subs = try schemaArray("anyOf") { keywords.append(.anyOf(subs)) }
            if let subs = try schemaArray("oneOf") { keywords.append(.oneOf(subs)) }
            if let sub = try schemaValue("not") { keywords.append(.not(sub)) }
            let thenSchema = try schemaValue("then")
            let elseSchema = try schemaValue("else")
            if let sub = try schemaValue("if") { keywords.append(.ifThenElse(sub, then: thenSchema, else: elseSchema)) }
        }
    }
}
