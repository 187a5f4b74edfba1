import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

@Suite("JSON Schema: validation and messages")
struct ValidationTests {
    static let deployment = #"""
        {
          "type": "object",
          "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 20},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 5},
            "cpu": {"type": "number", "multipleOf": 0.01, "exclusiveMinimum": 0},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ports": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true, "maxItems": 3},
            "mode": {"enum": ["rolling", "recreate"]}
          },
          "required": ["name", "replicas"],
          "additionalProperties": false
        }
        """#

    @Test func validInputHasNoViolations() throws {
        let schema = try #require(compile(Self.deployment))
        let input = json(#"{"name":"web","replicas":3,"cpu":0.25,"labels":{"app":"web"},"ports":[80,443],"mode":"rolling"}"#)
        #expect(schema.validate(input) == [])
        #expect(schema.isValid(input))
        #expect(throws: Never.self) { try schema.check(input) }
    }

    @Test func violationsNamePointerKeywordAndReason() throws {
        let schema = try #require(compile(Self.deployment))
        let violations = schema.validate(json(#"{"replicas":7}"#))
        #expect(
            violations.contains(
                SchemaViolation(
                    instancePointer: "/replicas", keyword: "maximum", schemaPointer: "/properties/replicas/maximum",
                    message: "7 is greater than the maximum 5")))
        #expect(violations.map(\.description).contains("/replicas: 7 is greater than the maximum 5"))
        let required = try #require(violations.first { $0.keyword == "required" })
        #expect(required.instancePointer == "")
        #expect(required.schemaPointer == "/required")
        #expect(required.description == #"(root): missing required property "name""#)
        #expect(violations.count == 2)
        #expect(!schema.isValid(json(#"{"replicas":7}"#)))
    }

    @Test func everyKindOfViolationIsReported() throws {
        let schema = try #require(compile(Self.deployment))
        let input = json(
            #"{"name":"Web_1","replicas":2.5,"cpu":0.125,"labels":{"a":1},"ports":[80,80.0,1,2],"mode":"blue","extra":true}"#
        )
        let byKeyword = Dictionary(grouping: schema.validate(input), by: \.keyword)
        #expect(byKeyword["pattern"]?.first?.description == #"/name: "Web_1" does not match the pattern "^[a-z][a-z0-9-]*$""#)
        #expect(
            byKeyword["type"]?.map(\.description).sorted() == [
                "/labels/a: expected string, got integer", "/replicas: expected integer, got number",
            ])
        #expect(byKeyword["multipleOf"]?.first?.description == "/cpu: 0.125 is not a multiple of 0.01")
        #expect(byKeyword["uniqueItems"]?.first?.instancePointer == "/ports")
        #expect(byKeyword["maxItems"]?.first?.message == "array has 4 items, more than the maximum 3")
        #expect(
            byKeyword["enum"]?.first?.description == #"/mode: "blue" is not one of the allowed values: "rolling", "recreate""#)
        #expect(
            byKeyword["additionalProperties"]?.first?.description
                == #"(root): property "extra" is not allowed (no additional properties)"#)
        #expect(byKeyword["additionalProperties"]?.first?.schemaPointer == "/additionalProperties")
    }

    @Test func checkThrowsBadRequestListingViolations() throws {
        let schema = try #require(compile(Self.deployment))
        do {
            try schema.check(json(#"{"name":"web","replicas":9}"#))
            Issue.record("expected a violation")
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message == #"field "inputs": /replicas: 9 is greater than the maximum 5"#)
        }
    }

    @Test func numberSemantics() throws {
        let integer = try #require(compile(#"{"type":"integer"}"#))
        #expect(integer.validate(json("1.0")) == [])
        #expect(integer.validate(.number(1.0)) == [])
        #expect(integer.validate(.integer(-3)) == [])
        #expect(integer.validate(.number(1.5)).first?.message == "expected integer, got number")

        let cents = try #require(compile(#"{"multipleOf":0.01}"#))
        for ok in ["19.99", "0.07", "1", "100.1", "-4.35", "1e10"] { #expect(cents.isValid(json(ok)), "\(ok)") }
        for bad in ["19.999", "0.001", "1.0000001"] { #expect(!cents.isValid(json(bad)), "\(bad)") }
        let tiny = try #require(compile(#"{"multipleOf":0.0001}"#))
        #expect(tiny.isValid(json("0.0075")))
        #expect(!tiny.isValid(json("0.00751")))
        let half = try #require(compile(#"{"multipleOf":0.5}"#))
        #expect(half.isValid(json("1e308")))

        let big = try #require(compile(#"{"maximum":9223372036854775807}"#))
        #expect(big.isValid(.integer(Int64.max)))
        #expect(!big.isValid(.number(1e19)))
        let exclusive = try #require(compile(#"{"exclusiveMaximum":3}"#))
        #expect(exclusive.validate(json("3")).first?.message == "3 is not less than the exclusive maximum 3")
        #expect(exclusive.isValid(json("2.9999")))
    }

    @Test func jsonEquality() throws {
        let const = try #require(compile(#"{"const":{"a":[1,{"b":2.0}],"c":null}}"#))
        #expect(const.isValid(json(#"{"c":null,"a":[1.0,{"b":2}]}"#)))
        #expect(!const.isValid(json(#"{"c":false,"a":[1,{"b":2}]}"#)))
        let enumeration = try #require(compile(#"{"enum":[1,"1",[1],{"x":1},2,3,4,5,6,7,8,9,10]}"#))
        #expect(enumeration.isValid(json("1.0")))
        #expect(enumeration.isValid(json("[1.0]")))
        #expect(enumeration.isValid(json(#"{"x":1.0}"#)))
        #expect(!enumeration.isValid(json("true")))
        #expect(!enumeration.isValid(json(#""é""#)))
        let unique = try #require(compile(#"{"uniqueItems":true}"#))
        #expect(!unique.isValid(json("[1, 1.0]")))
        #expect(!unique.isValid(json(#"[{"a":1,"b":2},{"b":2,"a":1}]"#)))
        #expect(unique.isValid(json("[1, true, \"1\", [1], null, 0, false]")))
        let many = (0..<100).map { "\($0)" }.joined(separator: ",")
        #expect(unique.isValid(json("[\(many)]")))
        #expect(unique.validate(json("[\(many),42.0]")).first?.message == "items 42 and 100 are equal; items must be unique")
        // Strings compare by code points: "é" precomposed differs from "e" + combining accent.
        let accent = try #require(compile(#"{"const":"\u00e9"}"#))
        #expect(!accent.isValid(.string("e\u{301}")))
        #expect(accent.isValid(.string("\u{e9}")))
    }

    @Test func stringLengthCountsCodePoints() throws {
        let schema = try #require(compile(#"{"maxLength":2,"minLength":2}"#))
        #expect(schema.isValid(.string("💩💩")))
        #expect(!schema.isValid(.string("💩")))
        #expect(schema.validate(.string("abc")).first?.message == #""abc" is longer than 2 characters (3)"#)
    }

    @Test func alternativesExplainTheClosestMatch() throws {
        let schema = try #require(
            compile(
                #"""
                {"oneOf": [
                  {"type":"object","required":["op","path","value"],"properties":{"op":{"enum":["add"]}},"additionalProperties":false},
                  {"type":"object","required":["op","path"],"properties":{"op":{"enum":["remove"]},"path":{"type":"string"}},"additionalProperties":false}
                ]}
                """#))
        let violations = schema.validate(json(#"{"op":"remove","path":"/a","value":1}"#))
        #expect(violations.count == 1)
        let v = try #require(violations.first)
        #expect(v.keyword == "oneOf")
        #expect(v.message.contains("does not match any of the 2 schemas in \"oneOf\""))
        #expect(v.message.contains(#"closest is #1: (root): property "value" is not allowed"#))
        let both = try #require(compile(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#))
        #expect(
            both.validate(json("3")).first?.message == #"3 matches 2 of the schemas in "oneOf" (#0, #1); exactly one must match"#)
    }

    @Test func conditionalsReportTheFailingBranch() throws {
        let schema = try #require(
            compile(
                #"""
                {"if":{"properties":{"kind":{"const":"json"}}},
                 "then":{"properties":{"data":{"type":"array"}}},
                 "else":{"properties":{"data":{"type":"object"}}}}
                """#))
        #expect(schema.validate(json(#"{"kind":"json","data":{}}"#)).map(\.description) == ["/data: expected array, got object"])
        #expect(schema.validate(json(#"{"kind":"merge","data":[]}"#)).map(\.description) == ["/data: expected object, got array"])
        #expect(schema.validate(json(#"{"kind":"merge","data":{}}"#)) == [])
    }

    @Test func instancePointersAreEscaped() throws {
        let schema = try #require(compile(#"{"additionalProperties":{"type":"string"}}"#))
        #expect(schema.validate(json(#"{"a/b~c":1}"#)).first?.instancePointer == "/a~1b~0c")
    }

    @Test func draftIsChosenBySchemaKeyword() throws {
        // prefixItems and dependentRequired are 2020-12 keywords: ignored by draft-07.
        let text = #"{"prefixItems":[{"type":"string"}],"dependentRequired":{"a":["b"]}}"#
        let draft7 = try #require(compile(text))
        #expect(draft7.draft == .draft7)
        #expect(draft7.isValid(json("[1]")))
        #expect(draft7.isValid(json(#"{"a":1}"#)))
        let draft2020 = try #require(compile(text, options: .init(defaultDraft: .draft2020_12)))
        #expect(!draft2020.isValid(json("[1]")))
        #expect(draft2020.validate(json(#"{"a":1}"#)).first?.message == #"missing property "b", required when "a" is present"#)
        let declared = try #require(
            compile(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}]}"#))
        #expect(declared.draft == .draft2020_12)
        #expect(!declared.isValid(json("[1]")))
        // Draft-07 ignores the siblings of $ref; 2020-12 applies them.
        let refSiblings =
            ##"{"$schema":"SCHEMA","definitions":{"s":{"type":"string"}},"properties":{"x":{"$ref":"#/definitions/s","maxLength":1}}}"##
        let old = try #require(
            compile(refSiblings.replacingOccurrences(of: "SCHEMA", with: "http://json-schema.org/draft-07/schema#")))
        #expect(old.isValid(json(#"{"x":"long"}"#)))
        let new = try #require(
            compile(refSiblings.replacingOccurrences(of: "SCHEMA", with: "https://json-schema.org/draft/2020-12/schema")))
        #expect(!new.isValid(json(#"{"x":"long"}"#)))
    }

    @Test func unevaluatedProperties() throws {
        let schema = try #require(
            compile(
                #"""
                {"$schema":"https://json-schema.org/draft/2020-12/schema",
                 "allOf":[{"properties":{"a":true}}],
                 "anyOf":[{"properties":{"b":true},"required":["b"]},{"properties":{"c":true},"required":["c"]}],
                 "unevaluatedProperties":false}
                """#))
        #expect(schema.isValid(json(#"{"a":1,"b":2}"#)))
        #expect(
            schema.validate(json(#"{"a":1,"b":2,"d":3}"#)).map(\.description) == [
                #"(root): property "d" is not allowed (not evaluated by any other keyword)"#
            ])
    }

    @Test func formatIsAnnotationUnlessAsserted() throws {
        let text = #"{"format":"date-time"}"#
        let annotation = try #require(compile(text))
        #expect(annotation.isValid(.string("yesterday")))
        let asserted = try #require(compile(text, options: .init(assertFormats: true)))
        #expect(asserted.validate(.string("yesterday")).first?.message == #""yesterday" is not a valid date-time"#)
        #expect(asserted.isValid(.string("2024-02-29T12:00:00Z")))
        #expect(asserted.isValid(.integer(5)))
    }
}
