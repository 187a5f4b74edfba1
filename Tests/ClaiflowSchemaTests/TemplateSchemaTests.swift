import ClaiflowCore
import ClaiflowSchema
import ClaiflowStore
import Foundation
import Testing

/// The input schemas of the 235 default templates, as the product ships them (the ClaiflowStore resource).
@Suite("JSON Schema: default template inputs")
struct TemplateSchemaTests {
    /// (template name, inputs schema) of every default template.
    static func templates() -> [(String, JSONValue)] {
        guard case .array(let list) = try? DefaultTemplates.shippedJSON() else { return [] }
        return list.compactMap { entry in
            guard case .object(let t) = entry, case .string(let name)? = t["name"] else { return nil }
            // The original stores the schema as text; the reference file has it as an object.
            switch t["inputs_schema"] ?? t["inputs"] {
            case .string(let text)?: return (try? JSONValue.parse(text)).map { (name, $0) }
            case let value?: return (name, value)
            case nil: return nil
            }
        }
    }

    static func template(_ name: String) throws -> JSONSchema {
        let schema = try #require(templates().first { $0.0 == name }?.1, "no template \(name)")
        return try JSONSchema(schema)
    }

    @Test func allDefaultTemplateSchemasCompile() {
        let all = Self.templates()
        #expect(all.count == 235)
        var compiled = 0
        for (name, schema) in all {
            for draft in JSONSchema.Draft.allCases {
                do {
                    _ = try JSONSchema(schema, options: .init(defaultDraft: draft))
                    if draft == .draft7 { compiled += 1 }
                } catch {
                    Issue.record("template \(name) (\(draft)): \(error)")
                }
            }
            let violations = JSONSchema.metaschemaViolations(of: schema)
            #expect(violations.isEmpty, "template \(name): \(violations)")
        }
        print("default templates: \(compiled)/\(all.count) input schemas compile")
    }

    @Test func podsGet() throws {
        let schema = try Self.template("kubernetes_pods_get")
        #expect(schema.validate(json(#"{"namespace":"default","name":"web-0"}"#)) == [])
        let violations = schema.validate(json(#"{"namespace":""}"#)).map(\.description)
        #expect(violations == [#"(root): missing required property "name""#, #"/namespace: "" does not match the pattern "^.""#])
        #expect(
            schema.validate(json(#"{"namespace":"\n","name":5}"#)).map(\.description) == [
                #"/name: expected string, got integer"#, #"/namespace: "\n" does not match the pattern "^.""#,
            ])
    }

    @Test func helmInstall() throws {
        let schema = try Self.template("helm_install")
        #expect(
            schema.validate(
                json(
                    #"{"name":"web","chart_name":"nginx","repo_url":"https://charts.example.com","namespace":"apps","timeout":5}"#
                )) == [])
        #expect(
            schema.validate(
                json(#"{"name":"web","chart_name":"nginx","repo_name":"bitnami","namespace":"apps","values":{"a":1}}"#)) == [])
        let both = schema.validate(
            json(#"{"name":"web","chart_name":"nginx","repo_url":"u","repo_name":"r","namespace":"apps"}"#))
        #expect(both.map(\.keyword) == ["oneOf"])
        #expect(both.first?.message.contains("matches 2 of the schemas") == true)
        let neither = schema.validate(json(#"{"name":"web","chart_name":"nginx","namespace":"apps","timeout":0}"#))
        #expect(neither.map(\.description).first == "/timeout: 0 is less than the minimum 1")
        #expect(neither.last?.keyword == "oneOf")
        #expect(neither.last?.message.contains(#"closest is #0: (root): missing required property "repo_url""#) == true)
    }

    /// The 53 `*_patch` templates list only `namespace`, `name` and `patch_type` under
    /// `properties` with `additionalProperties: false`, and describe `patch_data` in `then`/`else`
    /// only. Per the JSON Schema specification (both drafts) `additionalProperties` sees only its
    /// siblings, so `patch_data` is always rejected; and their 2020-12 `dependentRequired`
    /// requires it. This test pins that standard behaviour.
    @Test func patchTemplatesFollowTheSpecification() throws {
        let raw = try #require(Self.templates().first { $0.0 == "kubernetes_configmaps_patch" }?.1)
        let schema = try JSONSchema(raw)
        let withoutData = json(#"{"namespace":"ns","name":"cm","patch_type":"merge"}"#)
        let withData = json(#"{"namespace":"ns","name":"cm","patch_type":"merge","patch_data":{"data":{"a":"b"}}}"#)
        #expect(schema.validate(withoutData) == [])
        #expect(
            schema.validate(withData).map(\.description) == [
                #"(root): property "patch_data" is not allowed (no additional properties)"#
            ])
        let wrongShape = schema.validate(json(#"{"namespace":"ns","name":"cm","patch_type":"json","patch_data":{"a":1}}"#))
        #expect(Set(wrongShape.map(\.keyword)) == ["type", "additionalProperties"])
        #expect(schema.validate(json(#"{"namespace":"ns","name":"cm","patch_type":"strategic"}"#)).map(\.keyword) == ["enum"])

        // Interpreted as 2020-12, `dependentRequired` applies as well.
        let modern = try JSONSchema(raw, options: .init(defaultDraft: .draft2020_12))
        #expect(
            modern.validate(withoutData).map(\.description) == [
                #"(root): missing property "patch_data", required when "patch_type" is present"#
            ])
        #expect(modern.validate(withData).map(\.keyword) == ["additionalProperties"])
    }

    @Test func validatesConcurrently() async throws {
        let schema = try Self.template("helm_install")
        let good = json(#"{"name":"web","chart_name":"nginx","repo_url":"https://charts.example.com","namespace":"apps"}"#)
        let bad = json(#"{"name":"","chart_name":"nginx","repo_name":"r","repo_url":"u","namespace":"apps","timeout":"5"}"#)
        let expectedBad = schema.validate(bad)
        #expect(expectedBad.count == 3)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<64 {
                group.addTask {
                    var wrong = 0
                    for i in 0..<200 {
                        if (i + task) % 2 == 0 {
                            if !schema.validate(good).isEmpty || !schema.isValid(good) { wrong += 1 }
                        } else if schema.validate(bad) != expectedBad || schema.isValid(bad) {
                            wrong += 1
                        }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func validationIsFast() throws {
        let schema = try Self.template("helm_install")
        let input = json(
            #"{"name":"web","chart_name":"nginx","repo_url":"https://charts.example.com","namespace":"apps","timeout":5,"values":{"replicas":3}}"#
        )
        let rounds = 2000
        let started = ContinuousClock.now
        for _ in 0..<rounds { _ = schema.validate(input) }
        let elapsed = ContinuousClock.now - started
        let micros =
            Double(elapsed.components.attoseconds / 1_000_000_000_000 + elapsed.components.seconds * 1_000_000) / Double(rounds)
        print("helm_install inputs: \(String(format: "%.1f", micros)) µs per validation")
        // Generous bound (debug build, shared CI machine): well under a millisecond.
        #expect(micros < 2000)
    }
}
