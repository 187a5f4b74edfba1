import ClaiflowCore

extension SchemaCompiler {
    /// Decodes the keywords of one schema object.
    struct KeywordBuilder {
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
                guard JSONNumber.compare(m, .integer(0)) == 1 else {
                    throw fail("multipleOf", "must be greater than 0, got \(m)")
                }
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
                        throw failMember(
                            "patternProperties", name, "a schema must be an object or a boolean, got \(member.typeName)")
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
                    throw fail(
                        "dependencies", "must be an object whose values are schemas or arrays of strings, got \(d.typeName)")
                }
                var required: [(String, [String])] = []
                var schemas: [(String, NodeID)] = []
                for name in members.keys.sorted() {
                    guard let member = members[name] else { continue }
                    switch member {
                    case .array: required.append((name, try stringArray(member, "dependencies", member: name)))
                    case .object, .bool: schemas.append((name, try subschema("dependencies", name)))
                    default:
                        throw failMember(
                            "dependencies", name, "a dependency must be a schema or an array of strings, got \(member.typeName)")
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
                        default:
                            throw failMember("items", String(i), "a schema must be an object or a boolean, got \(item.typeName)")
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
