import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

@Suite("JSON Schema: compilation")
struct CompilationTests {
    @Test(arguments: [
        (#"{"type":5}"#, #"invalid JSON schema at "/type": "type" must be one of"#),
        (#"{"type":["string","float"]}"#, #"invalid JSON schema at "/type": "type" must be one of"#),
        (#"{"required":"x"}"#, #"invalid JSON schema at "/required": "required" must be an array of strings, got string"#),
        (
            #"{"properties":{"a":{"minimum":"3"}}}"#,
            #"invalid JSON schema at "/properties/a/minimum": "minimum" must be a number, got string"#
        ),
        (
            #"{"properties":{"a":5}}"#,
            #"invalid JSON schema at "/properties/a": a schema must be an object or a boolean, got number"#
        ),
        (#"{"maxLength":-1}"#, #"invalid JSON schema at "/maxLength": "maxLength" must be a non-negative integer, got -1"#),
        (#"{"minItems":1.5}"#, #"invalid JSON schema at "/minItems": "minItems" must be a non-negative integer, got 1.5"#),
        (#"{"multipleOf":0}"#, #"invalid JSON schema at "/multipleOf": "multipleOf" must be greater than 0, got 0"#),
        (#"{"pattern":"(unclosed"}"#, #"invalid JSON schema at "/pattern": "pattern" is not a valid regular expression"#),
        (
            #"{"patternProperties":{"[":{}}}"#,
            #"invalid JSON schema at "/patternProperties/[": the property name pattern is not a valid regular expression"#
        ),
        (#"{"anyOf":[]}"#, #"invalid JSON schema at "/anyOf": "anyOf" must be a non-empty array of schemas, got array"#),
        (#"{"allOf":[{},3]}"#, #"invalid JSON schema at "/allOf/1": a schema must be an object or a boolean"#),
        (
            #"{"dependencies":{"a":3}}"#,
            #"invalid JSON schema at "/dependencies/a": a dependency must be a schema or an array of strings, got number"#
        ),
        (#"{"enum":"a"}"#, #"invalid JSON schema at "/enum": "enum" must be an array, got string"#),
        (
            ##"{"$ref":"#/definitions/missing"}"##,
            ##"invalid JSON schema at "/$ref": "$ref" cannot resolve "#/definitions/missing": no such location"##
        ),
        (
            ##"{"properties":{"a":{"$ref":"#nowhere"}}}"##,
            ##"invalid JSON schema at "/properties/a/$ref": "$ref" cannot resolve "#nowhere": no anchor "nowhere""##
        ),
        (
            #"{"$ref":"https://example.com/other.json"}"#,
            #"invalid JSON schema at "/$ref": "$ref" cannot resolve "https://example.com/other.json": remote references are not supported"#
        ),
        (
            #"{"$schema":"http://example.com/my-dialect"}"#,
            #"invalid JSON schema at "/$schema": "$schema" unsupported $schema "http://example.com/my-dialect""#
        ),
        (
            #"{"$schema":"http://json-schema.org/draft-04/schema#"}"#,
            #"invalid JSON schema at "/$schema": "$schema" unsupported $schema"#
        ),
        (
            #"{"$schema":"https://json-schema.org/draft/2020-12/schema","items":[{}]}"#,
            #"invalid JSON schema at "/items": "items" must be a schema (object or boolean), got array"#
        ),
        ("[]", #"invalid JSON schema at "": a schema must be an object or a boolean, got array"#),
        ("{", "invalid JSON schema: malformed JSON"),
    ])
    func invalidSchemasAreRejected(schema: String, expected: String) {
        let error = compileError(schema)
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "compiled")")
    }

    @Test func unusedDefinitionsAreCheckedToo() {
        #expect(
            compileError(#"{"definitions":{"unused":{"type":"strin"}}}"#)?.message.hasPrefix(
                #"invalid JSON schema at "/definitions/unused/type""#) == true)
    }

    @Test func unknownKeywordsAreIgnored() throws {
        let schema = try #require(compile(#"{"x-ui":{"widget":"select"},"title":"T","examples":[1],"type":"integer"}"#))
        #expect(schema.isValid(.integer(1)))
    }

    @Test func metaschemaCheckNamesPointerAndKeyword() throws {
        let type = JSONSchema.metaschemaViolations(of: json(#"{"type":5}"#))
        #expect(type.count == 1)
        #expect(type.first?.instancePointer == "/type")
        #expect(type.first?.keyword == "anyOf")
        let required = JSONSchema.metaschemaViolations(of: json(#"{"properties":{"a":{"required":"x"}}}"#))
        #expect(required.map(\.description) == ["/properties/a/required: expected array, got string"])
        #expect(required.first?.schemaPointer == "http://json-schema.org/draft-07/schema#/definitions/stringArray/type")
        let modern = JSONSchema.metaschemaViolations(
            of: json(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"a":{"minContains":-1}}}"#))
        #expect(modern.map(\.instancePointer) == ["/$defs/a/minContains"])
        #expect(JSONSchema.metaschemaViolations(of: json(#"{"type":"object","required":["a"]}"#)) == [])
        #expect(JSONSchema.metaschemaViolations(of: json(#"{"$schema":"http://example.com/x"}"#)).first?.keyword == "$schema")

        do {
            _ = try JSONSchema.checked(json(#"{"properties":{"n":{"type":5}}}"#))
            Issue.record("expected a rejection")
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(
                error.message.hasPrefix(
                    #"invalid JSON schema at "/properties/n/type": 5 does not match any of the 2 schemas in "anyOf""#))
            #expect(error.message.hasSuffix(#"(meta-schema keyword "anyOf")"#))
        }
        #expect(throws: Never.self) { try JSONSchema.checked(json(#"{"type":"string"}"#)) }
    }

    @Test func metaschemasResolveOffline() throws {
        let draft7 = try #require(compile(#"{"$ref":"http://json-schema.org/draft-07/schema#"}"#))
        #expect(draft7.isValid(json(#"{"type":"string"}"#)))
        #expect(!draft7.isValid(json(#"{"type":5}"#)))
        let draft2020 = try #require(
            compile(
                #"{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"https://json-schema.org/draft/2020-12/schema"}"#
            ))
        #expect(draft2020.isValid(json(#"{"prefixItems":[{"type":"string"}]}"#)))
        #expect(!draft2020.isValid(json(#"{"prefixItems":{"type":"string"}}"#)))
        #expect(!draft2020.isValid(json(#"{"$defs":{"a":{"minLength":"1"}}}"#)))
    }

    @Test func remoteReferencesUseTheLoaderOnly() throws {
        let common: JSONValue = json(#"{"$defs":{"name":{"type":"string","minLength":1}}}"#)
        let loader: RemoteSchemaLoader = { uri in uri == "https://schemas.example.com/common.json" ? common : nil }
        let text = #"{"$id":"https://schemas.example.com/service.json","properties":{"n":{"$ref":"common.json#/$defs/name"}}}"#
        let schema = try JSONSchema(text: text, loader: loader)
        #expect(
            schema.validate(json(#"{"n":""}"#)).first?.schemaPointer
                == "https://schemas.example.com/common.json#/$defs/name/minLength")
        #expect(compileError(text)?.message.contains("remote references are not supported") == true)
        let missing = #"{"$ref":"https://schemas.example.com/nope.json"}"#
        #expect(throws: ClaiflowError.self) { try JSONSchema(text: missing, loader: loader) }
    }

    @Test func referenceCyclesTerminate() throws {
        // A reference cycle that consumes no instance: compiles, and validation stops with a clear violation.
        for text in [
            ##"{"$ref":"#"}"##,
            ##"{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}"##,
            ##"{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"a":{"anyOf":[{"$ref":"#"}]}},"$ref":"#/$defs/a"}"##,
        ] {
            let schema = try #require(compile(text))
            let violations = schema.validate(.integer(1))
            #expect(violations.contains { $0.message.contains("nested more than") }, "\(text)")
            #expect(!schema.isValid(.integer(1)))
        }
        // Recursion that follows the instance is fine.
        let tree = try #require(compile(##"{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#"}}}}"##))
        #expect(tree.isValid(json(#"{"children":[{"children":[]},{"children":[{"children":[]}]}]}"#)))
        #expect(
            tree.validate(json(#"{"children":[{"children":[5]}]}"#)).map(\.description) == [
                "/children/0/children/0: expected object, got integer"
            ])
    }

    @Test func pathologicalInputsAreBounded() throws {
        // A very deep instance against a recursive schema: a violation, not a stack overflow.
        var deep: JSONValue = .array([])
        for _ in 0..<2000 { deep = .array([deep]) }
        let schema = try #require(compile(##"{"items":{"$ref":"#"}}"##))
        #expect(schema.validate(deep).first?.message.contains("nested more than") == true)
        #expect(!schema.isValid(deep))
        // Alternatives that all recurse on the same value: exponential without a budget.
        var list: JSONValue = .integer(0)
        for _ in 0..<60 { list = .array([list]) }
        let explosive = try #require(compile(##"{"type":"array","anyOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]}"##))
        let started = ContinuousClock.now
        #expect(explosive.validate(list).contains { $0.message.contains("too complex") })
        #expect(!explosive.isValid(list))
        #expect(ContinuousClock.now - started < .seconds(20))
        // A schema nested absurdly deep (built directly: the JSON parser stops at 128 levels) is
        // rejected at compile time.
        var nested: JSONValue = .object(["type": .string("string")])
        for _ in 0..<300 { nested = .object(["properties": .object(["a": nested])]) }
        var error: ClaiflowError?
        do { _ = try JSONSchema(nested) } catch let e { error = e }
        #expect(error?.message.contains("nested more than") == true, "\(String(describing: error))")
    }
}
