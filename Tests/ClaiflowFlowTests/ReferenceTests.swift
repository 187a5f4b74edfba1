import ClaiflowCore
import Testing

@testable import ClaiflowFlow

/// One test per row of the reference-resolution table (protocol §5.2), with the fixed behaviour
/// where the original was buggy, then the SPEC §4 fixes.
@Suite("References: §5.2 table")
struct ReferenceTableTests {
    /// s1 emits `value`; s2 echoes `{"x": <reference>}`; returns x.
    private func read(_ reference: String, from value: String) async throws -> JSONValue? {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":\(value)}},
             {"$id":"s2","$command":"echo","inputs":{"x":"\(reference)"}}]
            """
        return try await member(result(flow), "x")
    }

    @Test func step1OutputsField() async throws {
        let flow = """
            [{"$id":"step1","$command":"emit","inputs":{"value":{"value1":"bar","value2":"foo"}}},
             {"$id":"step2","$command":"echo","inputs":{"x":"$step1.outputs.value1"}}]
            """
        #expect(try await result(flow) == json(#"{"x":"bar"}"#))
    }

    @Test func step1OutputsWhole() async throws {
        #expect(try await read("$s1.outputs", from: #"{"a":[1,2]}"#) == json(#"{"a":[1,2]}"#))
    }

    @Test func step1InputsField() async throws {
        let flow = """
            [{"$id":"step1","$command":"echo","inputs":{"ns":"default","n":1}},
             {"$id":"step2","$command":"echo","inputs":{"x":"$step1.inputs.ns"}}]
            """
        #expect(try await result(flow) == json(#"{"x":"default"}"#))
    }

    @Test func iterationValAndKey() async throws {
        let flow = """
            [{"$id":"step1","$range":["a","b"],"$steps":[
                {"$id":"c","$command":"echo","inputs":{"v":"$step1.val","k":"$step1.key"}}]}]
            """
        #expect(try await result(flow) == json(#"[{"k":0,"v":"a"},{"k":1,"v":"b"}]"#))
    }

    @Test func outerValFieldAsInnerRange() async throws {
        let flow = """
            [{"$id":"o","$range":[{"items":[1,2]},{"items":[3]}],"$steps":[
                {"$id":"i","$range":"$o.val.items","$steps":[
                    {"$id":"c","$command":"echo","inputs":{"x":"$o[$o.key].$i.val"}}]}]}]
            """
        #expect(try await result(flow) == json(#"[[{"x":1},{"x":2}],[{"x":3}]]"#))
    }

    @Test func outputsPathWithIndex() async throws {
        #expect(try await read("$s1.outputs.items[0].name", from: #"{"items":[{"name":"a"},{"name":"b"}]}"#) == .string("a"))
    }

    private let iterationThenRead = """
        [{"$id":"it","$range":[10,20],"$steps":[
            {"$id":"c1","$command":"emit","inputs":{"value":{"v":"$it.val"}}}]},
         {"$id":"after","$command":"echo","inputs":{"x":"REF"}}]
        """

    @Test func childOutputOfIterationWithDollarChild() async throws {
        let flow = iterationThenRead.replacingOccurrences(of: "REF", with: "$it[1].$c1.outputs.v")
        #expect(try await result(flow) == json(#"{"x":20}"#))
    }

    /// Original: error "not found key \"it[0]\"". Fixed: the child id without `$` works too.
    @Test func childOutputOfIterationWithoutDollar() async throws {
        let flow = iterationThenRead.replacingOccurrences(of: "REF", with: "$it[0].c1.outputs")
        #expect(try await result(flow) == json(#"{"x":{"v":10}}"#))
    }

    @Test func siblingInSameIteration() async throws {
        let flow = """
            [{"$id":"it","$range":[1,2],"$steps":[
                {"$id":"c1","$command":"emit","inputs":{"value":{"v":"$it.val"}}},
                {"$id":"c2","$command":"echo","inputs":{"original":"$it[$it.key].$c1.outputs.v","plain":"$c1.outputs.v"}}]}]
            """
        #expect(try await result(flow) == json(#"[{"v":1},{"original":1,"plain":1},{"v":2},{"original":2,"plain":2}]"#))
    }

    /// Original: only `$o[$o.key].$i.val` reached the inner element; plain `$i.val` failed. Both work.
    @Test func nestedIterationInnerElement() async throws {
        let flow = """
            [{"$id":"o","$range":[["a","b"],["c"]],"$steps":[
                {"$id":"i","$range":"$o.val","$steps":[
                    {"$id":"c","$command":"echo","inputs":{"original":"$o[$o.key].$i.val","plain":"$i.val","outer":"$o.key"}}]}]}]
            """
        let expected = """
            [[{"original":"a","plain":"a","outer":0},{"original":"b","plain":"b","outer":0}],
             [{"original":"c","plain":"c","outer":1}]]
            """
        #expect(try await result(flow) == json(expected))
    }

    /// Original bug: `[1]` right after outputs was a jq array literal, giving `[1]`. Fixed: the element.
    @Test func indexRightAfterOutputs() async throws {
        #expect(try await read("$s1.outputs[1]", from: "[10,20,30]") == .integer(20))
        #expect(try await read("$s1.outputs[-1]", from: "[10,20,30]") == .integer(30))
        #expect(try await read("$s1.outputs.[0]", from: "[10,20,30]") == .integer(10))
    }

    /// Original bug: `$s1.outputs[$it.key]` gave `[0]`. Fixed: the element at the current index.
    @Test func dynamicIndexRightAfterOutputs() async throws {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":["x","y","z"]}},
             {"$id":"it","$range":[0,0,0],"$steps":[
                {"$id":"c","$command":"echo","inputs":{"e":"$s1.outputs[$it.key]"}}]}]
            """
        #expect(try await result(flow) == json(#"[{"e":"x"},{"e":"y"},{"e":"z"}]"#))
    }

    /// Original: the text after `-` was dropped (store key "step"). Fixed: a parse error.
    @Test func dashInStepIdIsAParseError() throws {
        let message = parseError(
            """
            [{"$id":"step-1","$command":"emit"},{"$id":"s2","$command":"echo","inputs":{"x":"$step-1.outputs.n"}}]
            """)
        #expect(message?.contains(#"flow[1] (step "s2"): inputs.x: reference "$step-1.outputs.n": unexpected "-""#) == true)
    }

    /// Original: silently read `.metadata.resource`. Fixed: a parse error that points at `["…"]`.
    @Test func dashInPathKeyIsAParseErrorAndBracketsWork() async throws {
        let message = parseError(
            """
            [{"$id":"s1","$command":"emit"},{"$id":"s2","$command":"echo","inputs":{"x":"$s1.outputs.metadata.resource-version"}}]
            """)
        #expect(message?.contains("unexpected \"-\" after the reference at offset 29") == true)
        #expect(message?.contains(#"as ["...""#) == true)
        let value = #"{"metadata":{"resource-version":"42"}}"#
        #expect(try await read(#"$s1.outputs.metadata[\"resource-version\"]"#, from: value) == .string("42"))
    }

    /// Original: jq error "function not defined: Foo/0" at run time. Fixed: a parse error.
    @Test func outputsFooIsAParseError() {
        let message = parseError(
            """
            [{"$id":"s1","$command":"emit"},{"$id":"s2","$command":"echo","inputs":{"x":"$s1.outputsFoo"}}]
            """)
        #expect(message?.contains(#"expected .outputs, .inputs, .key or .val after step "s1", found "outputsFoo""#) == true)
    }

    /// Original: "not found key \"s1\"" at run time. Fixed: a parse error.
    @Test func outputWithoutSIsAParseError() {
        let message = parseError(
            """
            [{"$id":"s1","$command":"emit"},{"$id":"s2","$command":"echo","inputs":{"x":"$s1.output"}}]
            """)
        #expect(message?.contains(#"found "output""#) == true)
    }
}

@Suite("References: SPEC §4 fixes and extensions")
struct ReferenceFixTests {
    private func read(_ reference: String, from value: String) async throws -> JSONValue? {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":\(value)}},
             {"$id":"s2","$command":"echo","inputs":{"x":"\(reference)"}}]
            """
        return try await member(result(flow), "x")
    }

    @Test func bracketKeysWithOddCharacters() async throws {
        let value = #"{"labels":{"app.kubernetes.io/name":"web","a-b":1,"x\"y":2,"é":3}}"#
        #expect(try await read(#"$s1.outputs.labels[\"app.kubernetes.io/name\"]"#, from: value) == .string("web"))
        #expect(try await read(#"$s1.outputs.labels.[\"a-b\"]"#, from: value) == .integer(1))
        #expect(try await read(#"$s1.outputs.labels.\"a-b\""#, from: value) == .integer(1))
        #expect(try await read(#"$s1.outputs.labels[\"x\\\"y\"]"#, from: value) == .integer(2))
        #expect(try await read(#"$s1.outputs.labels[\"\\u00e9\"]"#, from: value) == .integer(3))
        #expect(try await read(#"$s1.outputs[\"labels\"][\"a-b\"]"#, from: value) == .integer(1))
    }

    @Test func dollarDollarIsALiteralDollar() async throws {
        let flow = """
            [{"$id":"s1","$command":"echo","inputs":{"price":"$$5","only":"$$","nested":["$$x",{"k":"$$$y"}],"mid":"cost $5"}}]
            """
        #expect(try await result(flow) == json(#"{"price":"$5","only":"$","nested":["$x",{"k":"$$y"}],"mid":"cost $5"}"#))
    }

    @Test func dollarDollarInRangeArray() async throws {
        let flow = #"[{"$id":"it","$range":["$$a","b"],"$steps":[{"$id":"c","$command":"echo","inputs":{"v":"$it.val"}}]}]"#
        #expect(try await result(flow) == json(#"[{"v":"$a"},{"v":"b"}]"#))
    }

    @Test func printInsideSteps() async throws {
        let flow = """
            [{"$id":"it","$range":[1,2],"$steps":[
                {"$id":"c","$command":"echo","inputs":{"n":"$it.val"}},
                {"$id":"p","$print":{"hide":[]}}]}]
            """
        let expected = """
            [{"n":1},[{"id":"it[0].c","command":"echo","inputs":{"n":1},"outputs":{"n":1}}],
             {"n":2},[{"id":"it[1].c","command":"echo","inputs":{"n":2},"outputs":{"n":2}}]]
            """
        #expect(try await result(flow) == json(expected))
    }

    @Test(arguments: [
        ("$s1.outputs[", "missing \"]\""),
        ("$s1.outputs[0", "missing \"]\""),
        ("$s1.outputs.", "expected a key after \".\""),
        ("$s1.outputs.items[abc]", "unexpected \"a\" after \"[\""),
        ("$s1.outputs.0", "a key cannot start with a digit"),
        ("$s1.outputs.a b", "unexpected \"b\" after the reference"),
        ("$s1.outputs | length", "unexpected \"|\" after the reference"),
        ("$s1", "incomplete reference"),
        ("$", "expected a step id or \"inputs\""),
        ("$s1.outputs[\"open", "unterminated string"),
    ])
    func truncatedOrMalformedReferencesAreParseErrors(_ reference: String, _ expected: String) {
        let escaped = reference.replacingOccurrences(of: "\"", with: "\\\"")
        let message = parseError(
            """
            [{"$id":"s1","$command":"emit"},{"$id":"s2","$command":"echo","inputs":{"x":"\(escaped)"}}]
            """)
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
        #expect(message?.hasPrefix("flow[1] (step \"s2\"): inputs.x: reference ") == true)
    }

    @Test func whitespaceBetweenTokensIsIgnored() async throws {
        #expect(try await read("$s1.outputs .a [0] ", from: #"{"a":[7]}"#) == .integer(7))
    }

    @Test func iterationOutputsAreReferenceable() async throws {
        let flow = """
            [{"$id":"it","$range":[1,2,3],"$steps":[{"$id":"c","$command":"math_pow","inputs":{"x":"$it.val","y":2}}]},
             {"$id":"s2","$command":"echo","inputs":{"all":"$it.outputs","second":"$it.outputs[1]","last":"$it.val","key":"$it.key"}}]
            """
        #expect(try await result(flow) == json(#"{"all":[1,4,9],"second":4,"last":3,"key":2}"#))
    }

    @Test func printOutputsAreReferenceable() async throws {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":"v"}},
             {"$id":"p","$print":{"hide":[]}},
             {"$id":"s2","$command":"echo","inputs":{"x":"$p.outputs[0].outputs"}}]
            """
        #expect(try await result(flow) == json(#"{"x":"v"}"#))
    }

    @Test func inputsReferences() async throws {
        let inputs = #"{"l":[1,2,3],"o":{"a-b":"dash"},"n":null,"s":"text"}"#
        let flow = """
            [{"$id":"s","$command":"echo","inputs":{
                "all":"$inputs","list":"$inputs.l","second":"$inputs.l[1]","dash":"$inputs.o[\\"a-b\\"]",
                "null":"$inputs.n","jq":"$inputs.l | length","default":"$inputs.missing // \\"fallback\\""}}]
            """
        let expected = """
            {"all":\(inputs),"list":[1,2,3],"second":2,"dash":"dash","null":null,"jq":3,"default":"fallback"}
            """
        #expect(try await result(flow, inputs: inputs) == json(expected))
    }

    @Test func inputsIndexedByIteration() async throws {
        let flow = """
            [{"$id":"it","$range":"$inputs.names","$steps":[
                {"$id":"c","$command":"echo","inputs":{"name":"$it.val","label":"$inputs.labels[$it.key]"}}]}]
            """
        let result = try await result(flow, inputs: #"{"names":["a","b"],"labels":["A","B"]}"#)
        #expect(result == (try json(#"[{"name":"a","label":"A"},{"name":"b","label":"B"}]"#)))
    }

    @Test func explicitNullIsAValueButAMissingKeyIsAnError() async throws {
        #expect(try await read("$s1.outputs.a", from: #"{"a":null}"#) == .null)
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":{"a":{"b":1}}}},
             {"$id":"s2","$command":"echo","inputs":{"x":"$s1.outputs.a.c.d"}}]
            """
        #expect(try await failure(flow) == #"step "s2": inputs.x: reference "$s1.outputs.a.c.d": .a.c not found in s1.outputs"#)
    }

    @Test func jqTypeErrorsAreReported() async throws {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":{"a":5}}},
             {"$id":"s2","$command":"echo","inputs":{"x":"$s1.outputs.a.b"}}]
            """
        let message = try await failure(flow)
        #expect(message?.hasPrefix(#"step "s2": inputs.x: reference "$s1.outputs.a.b": Cannot index number with"#) == true)
    }

    @Test func numericStepIds() async throws {
        let flow =
            #"[{"$id":1,"$command":"emit","inputs":{"value":"one"}},{"$id":2,"$command":"echo","inputs":{"x":"$1.outputs"}}]"#
        #expect(try await result(flow) == json(#"{"x":"one"}"#))
    }

    @Test func stringFormInputsFromAStep() async throws {
        let flow = """
            [{"$id":"s1","$command":"emit","inputs":{"value":{"param1":"a","param2":"b"}}},
             {"$id":"s2","$command":"swap_command","inputs":"$s1.outputs"}]
            """
        #expect(try await result(flow) == json(#"{"value1":"b","value2":"a"}"#))
        let notObject =
            #"[{"$id":"s1","$command":"emit","inputs":{"value":[1]}},{"$id":"s2","$command":"echo","inputs":"$s1.outputs"}]"#
        #expect(
            try await failure(notObject)
                == #"step "s2": inputs: reference "$s1.outputs" resolved to array [1], expected an object"#)
    }

    @Test func selectionsThroughNestedIterations() async throws {
        let flow = """
            [{"$id":"o","$range":[["a","b"],["c","d"]],"$steps":[
                {"$id":"i","$range":"$o.val","$steps":[{"$id":"d","$command":"emit","inputs":{"value":"$i.val"}}]}]},
             {"$id":"s","$command":"echo","inputs":{"x":"$o[1].$i[0].$d.outputs","y":"$o[0].i[1].d.outputs","z":"$o[$inputs.k].i.outputs"}}]
            """
        #expect(try await result(flow, inputs: #"{"k":1}"#) == json(#"{"x":"c","y":"b","z":["c","d"]}"#))
    }

    @Test func selectingAnIterationThatDidNotRunFails() async throws {
        let flow = """
            [{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"emit","inputs":{"value":1}}]},
             {"$id":"s","$command":"echo","inputs":{"x":"$it[3].$c.outputs"}}]
            """
        #expect(try await failure(flow) == #"step "s": inputs.x: reference "$it[3].$c.outputs": step "it[3].c" has not run"#)
    }

    @Test func topLevelStepShadowsNestedOneWithTheSameId() async throws {
        // As in the original, a plain `$c1` means the top-level c1 when one comes before.
        let flow = """
            [{"$id":"c1","$command":"emit","inputs":{"value":"top"}},
             {"$id":"it","$range":[1],"$steps":[
                {"$id":"c1","$command":"emit","inputs":{"value":"nested"}},
                {"$id":"c2","$command":"echo","inputs":{"plain":"$c1.outputs","explicit":"$it[$it.key].c1.outputs"}}]}]
            """
        #expect(try await result(flow) == json(#"["nested",{"plain":"top","explicit":"nested"}]"#))
    }
}
