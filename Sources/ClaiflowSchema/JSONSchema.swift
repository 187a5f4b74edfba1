import ClaiflowCore

/// Resolves a remote schema reference: receives an absolute URI without fragment and returns the
/// schema document found there, or nil when it is unknown.
///
/// The server passes none, so a reference to anything outside the schema document (other than
/// the embedded draft-07 and 2020-12 meta-schemas) fails compilation; nothing is ever fetched
/// over the network by this module.
public typealias RemoteSchemaLoader = @Sendable (String) -> JSONValue?

/// A compiled JSON Schema (draft-07 or draft 2020-12).
///
/// Compile once, then call ``validate(_:)`` as often as needed, from any number of tasks at once:
/// the compiled form is immutable.
///
/// ```swift
/// let schema = try JSONSchema(text: #"{"type":"object","required":["name"]}"#)
/// schema.validate(.object([:]))  // [(root): missing required property "name"]
/// ```
public struct JSONSchema: Sendable {
    /// A JSON Schema dialect this module implements.
    public enum Draft: String, Sendable, CaseIterable {
        /// Draft-07, `$schema` `http://json-schema.org/draft-07/schema#`.
        case draft7 = "http://json-schema.org/draft-07/schema#"
        /// Draft 2020-12, `$schema` `https://json-schema.org/draft/2020-12/schema`.
        case draft2020_12 = "https://json-schema.org/draft/2020-12/schema"

        /// The URI of the draft's meta-schema.
        public var metaschemaURI: String { rawValue }
    }

    /// Compilation settings.
    public struct Options: Sendable, Hashable {
        /// The draft of a schema without `$schema` (draft-07 unless changed).
        public var defaultDraft: Draft
        /// Whether `format` is asserted (a string that is not a valid `date-time`, `email`, … is
        /// a violation). Off by default: `format` is an annotation, as draft 2020-12 prescribes.
        public var assertFormats: Bool

        /// Creates options; the defaults are draft-07 for schemas without `$schema` and
        /// annotation-only `format`.
        public init(defaultDraft: Draft = .draft7, assertFormats: Bool = false) {
            self.defaultDraft = defaultDraft
            self.assertFormats = assertFormats
        }
    }

    let compiled: CompiledSchema

    /// The draft the root schema is interpreted with.
    public let draft: Draft

    /// Compiles a schema.
    ///
    /// - Throws: `ClaiflowError` 400 naming the JSON pointer in the schema and the problem: an
    ///   unknown `$schema`, a keyword value of the wrong type, an invalid regular expression, an
    ///   unresolvable `$ref`, …
    public init(
        _ schema: JSONValue, options: Options = Options(), loader: RemoteSchemaLoader? = nil
    )
        throws(ClaiflowError)
    {
        let compiler = SchemaCompiler(options: options, loader: loader)
        (compiled, draft) = try compiler.compile(schema)
    }

    /// Parses and compiles a schema given as JSON text.
    ///
    /// - Throws: `ClaiflowError` 400 for malformed JSON or an invalid schema.
    public init(
        text: String, options: Options = Options(), loader: RemoteSchemaLoader? = nil
    )
        throws(ClaiflowError)
    {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw ClaiflowError(.invalidArgument, "invalid JSON schema: \(error.message)")
        }
        try self.init(value, options: options, loader: loader)
    }

    /// Every violation of the schema by `instance`, in schema order; empty when it is valid.
    public func validate(_ instance: JSONValue) -> [SchemaViolation] {
        let evaluator = Evaluator(compiled)
        var none: Annotations? = nil
        _ = evaluator.evaluate(compiled.root, instance, collect: true, &none)
        if let limit = evaluator.limitViolation { return evaluator.violations + [limit] }
        return evaluator.violations
    }

    /// Whether `instance` is valid; stops at the first violation.
    public func isValid(_ instance: JSONValue) -> Bool {
        let evaluator = Evaluator(compiled)
        var none: Annotations? = nil
        return evaluator.evaluate(compiled.root, instance, collect: false, &none)
    }

    /// Validates and throws a 400 listing the violations (at most `limit` of them), as
    /// `field "inputs": /replicas: 7 is greater than the maximum 5; (root): …`.
    public func check(_ instance: JSONValue, field: String = "inputs", limit: Int = 10) throws(ClaiflowError) {
        let violations = validate(instance)
        guard !violations.isEmpty else { return }
        var text = violations.prefix(max(1, limit)).map(\.description).joined(separator: "; ")
        if violations.count > limit { text += "; and \(violations.count - limit) more" }
        throw ClaiflowError.invalidField(field, text)
    }
}

/// One way an instance violates a schema.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// RFC 6901 pointer to the offending value in the instance (`""` is the whole instance).
    public let instancePointer: String
    /// The keyword that failed: `required`, `type`, `maximum`, `additionalProperties`, … (`false`
    /// for a `false` schema).
    public let keyword: String
    /// Where the keyword sits in the schema: a JSON pointer in the schema document, or
    /// `uri#pointer` for a keyword in a referenced document such as a meta-schema.
    public let schemaPointer: String
    /// What is wrong, without the location: `7 is greater than the maximum 5`.
    public let message: String

    /// Creates a violation.
    public init(instancePointer: String, keyword: String, schemaPointer: String, message: String) {
        self.instancePointer = instancePointer
        self.keyword = keyword
        self.schemaPointer = schemaPointer
        self.message = message
    }

    /// `/replicas: 7 is greater than the maximum 5`; the whole instance is written `(root)`.
    public var description: String {
        "\(instancePointer.isEmpty ? "(root)" : instancePointer): \(message)"
    }
}

extension JSONSchema {
    /// Validates a schema document against the meta-schema of its draft (chosen by its
    /// `$schema`, else `defaultDraft`) and returns the violations, each naming the offending
    /// pointer in the schema and the meta-schema keyword (`{"type": 5}` → `/type`, `anyOf`).
    ///
    /// Formats are not asserted. A `$schema` other than draft-07 or 2020-12 yields one violation
    /// of keyword `$schema`.
    public static func metaschemaViolations(
        of schema: JSONValue, defaultDraft: Draft = .draft7
    )
        -> [SchemaViolation]
    {
        var draft = defaultDraft
        if case .object(let obj) = schema, let declared = obj["$schema"] {
            guard case .string(let uri) = declared, let known = Draft(uri: uri) else {
                return [
                    SchemaViolation(
                        instancePointer: "/$schema", keyword: "$schema", schemaPointer: "",
                        message:
                            "unsupported $schema \(preview(declared)); use \(Draft.draft7.rawValue) or \(Draft.draft2020_12.rawValue)"
                    )
                ]
            }
            draft = known
        }
        switch MetaSchemas.compiled(draft) {
        case .success(let meta): return meta.validate(schema)
        case .failure(let error):
            return [SchemaViolation(instancePointer: "", keyword: "$schema", schemaPointer: "", message: error.message)]
        }
    }

    /// Compiles a schema that must also be valid against its meta-schema: the check for schemas
    /// written by users (template `inputs`).
    ///
    /// - Throws: `ClaiflowError` 400: `invalid JSON schema at "/properties/replicas/type": …`.
    public static func checked(
        _ schema: JSONValue, options: Options = Options(), loader: RemoteSchemaLoader? = nil
    )
        throws(ClaiflowError) -> JSONSchema
    {
        let violations = metaschemaViolations(of: schema, defaultDraft: options.defaultDraft)
        if let first = violations.first {
            var text =
                "invalid JSON schema at \"\(first.instancePointer)\": \(first.message) (meta-schema keyword \"\(first.keyword)\")"
            if violations.count > 1 { text += "; and \(violations.count - 1) more" }
            throw ClaiflowError(.invalidArgument, text)
        }
        return try JSONSchema(schema, options: options, loader: loader)
    }
}

extension JSONSchema.Draft {
    /// The draft a `$schema` URI names (with or without the empty fragment, http or https).
    public init?(uri: String) {
        var u = uri
        if u.hasSuffix("#") { u.removeLast() }
        if u.hasPrefix("https://") { u = "http://" + u.dropFirst(8) }
        switch u {
        case "http://json-schema.org/draft-07/schema": self = .draft7
        case "http://json-schema.org/draft/2020-12/schema": self = .draft2020_12
        default: return nil
        }
    }
}
