import ClaiflowCore
import Testing

@testable import ClaiflowFlow

/// Flow.parse rejects invalid flows with a 400 that names the step (location and id) and the reason.
@Suite("Validation")
struct ValidationTests {
    @Test(arguments: [
        // Shape of the flow.
        (#"{"$id":"a"}"#, "flow: must be a JSON array of steps, got object"),
        (#""[]""#, "flow: must be a JSON array of steps, got string"),
        ("[]", "flow: must contain at least one step"),
        ("[1", "flow: malformed JSON"),
        // Steps and ids.
        ("[1]", "flow[0]: a step must be a JSON object, got number"),
        (#"[{"$command":"x"}]"#, #"flow[0]: missing "$id""#),
        (#"[{"$id":"","$command":"x"}]"#, #"flow[0]: "$id" must not be empty"#),
        (#"[{"$id":null,"$command":"x"}]"#, #"flow[0]: "$id" must be a non-empty string or a number, got null"#),
        (#"[{"$id":{"a":1},"$command":"x"}]"#, #"flow[0]: "$id" must be a non-empty string or a number, got object"#),
        (
            #"[{"$id":"a","$command":"x"},{"$id":"b","$command":"x"},{"$id":"a","$command":"y"}]"#,
            #"flow[2] (step "a"): duplicate "$id" (also used by flow[0]); ids must be unique within the same array"#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"x"},{"$id":"c","$command":"x"}]}]"#,
            #"flow[0].$steps[1] (step "c"): duplicate "$id" (also used by flow[0].$steps[0])"#
        ),
        (
            #"[{"$id":"a"}]"#,
            #"flow[0] (step "a"): unknown step kind: a step needs one of "$command", "$range", "$print", "$if" or "$parallel""#
        ),
        (
            #"[{"$id":"a","$condition":"x","$then":[]}]"#,
            #"flow[0] (step "a"): $condition: not a valid jq program: "#
        ),
        // Command steps.
        (
            #"[{"$id":"a","$command":1}]"#,
            #"flow[0] (step "a"): $command: must be a non-empty string (the command name), got number"#
        ),
        (
            #"[{"$id":"a","$command":""}]"#,
            #"flow[0] (step "a"): $command: must be a non-empty string (the command name), got an empty string"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":null}]"#,
            #"flow[0] (step "a"): inputs: must be an object or a reference string such as "$inputs", got null"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":[1]}]"#,
            #"flow[0] (step "a"): inputs: must be an object or a reference string such as "$inputs", got array"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":"literal"}]"#,
            #"flow[0] (step "a"): inputs: must be an object or a reference string such as "$inputs", got a string that is not a reference"#
        ),
        // Iterations.
        (
            #"[{"$id":"a","$range":5,"$steps":[]}]"#,
            #"flow[0] (step "a"): $range: must be an array or a reference string, got number"#
        ),
        (
            #"[{"$id":"a","$range":{"k":1}}]"#,
            #"flow[0] (step "a"): $range: must be an array or a reference string; objects cannot be iterated"#
        ),
        (
            #"[{"$id":"a","$range":"abc"}]"#,
            #"flow[0] (step "a"): $range: must be an array or a reference string (starting with "$"), got a literal string"#
        ),
        (#"[{"$id":"a","$range":[],"$steps":{}}]"#, #"flow[0] (step "a"): $steps: must be an array of steps, got object"#),
        (#"[{"$id":"a","$range":[],"$steps":[{"$id":"b"}]}]"#, #"flow[0].$steps[0] (step "b"): unknown step kind"#),
        // Prints.
        (#"[{"$id":"p","$print":true}]"#, #"flow[0] (step "p"): $print: must be an object such as {"hide": []}, got boolean"#),
        (
            #"[{"$id":"p","$print":{"hide":5}}]"#,
            #"flow[0] (step "p"): $print.hide: must be an array of step ids or a reference string, got number"#
        ),
        (
            #"[{"$id":"p","$print":{"hide":[[1]]}}]"#,
            #"flow[0] (step "p"): $print.hide[0]: a step id must be a non-empty string or a number, got array"#
        ),
    ])
    func shapeErrors(_ flow: String, _ expected: String) {
        let message = parseError(flow)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test(arguments: [
        // Dangling, forward and self references.
        (
            #"[{"$id":"a","$command":"x","inputs":{"v":"$nope.outputs"}}]"#,
            #"flow[0] (step "a"): inputs.v: reference "$nope.outputs": no step "nope" in this flow"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":{"v":"$b.outputs"}},{"$id":"b","$command":"x"}]"#,
            #"flow[0] (step "a"): inputs.v: reference "$b.outputs": step "b" comes later in the flow; a reference can only read steps that ran before"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":{"v":"$a.outputs"}}]"#,
            #"flow[0] (step "a"): inputs.v: reference "$a.outputs": a step cannot refer to itself"#
        ),
        (
            #"[{"$id":"it","$range":"$it.val"}]"#,
            #"flow[0] (step "it"): $range: reference "$it.val": a step cannot refer to itself"#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c1","$command":"x","inputs":{"v":"$c2.outputs"}},{"$id":"c2","$command":"x"}]}]"#,
            #"flow[0].$steps[0] (step "c1"): inputs.v: reference "$c2.outputs": step "c2" comes later in the flow"#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"x"}]},{"$id":"s","$command":"x","inputs":{"v":"$c.outputs"}}]"#,
            #"flow[1] (step "s"): inputs.v: reference "$c.outputs": step "c" is nested in iteration "it" and cannot be read directly from here; select an iteration as in "$it[0].$c.outputs""#
        ),
        // Wrong slot for the kind of step.
        (
            #"[{"$id":"a","$command":"x"},{"$id":"b","$command":"x","inputs":{"v":"$a.key"}}]"#,
            #"reference "$a.key": step "a" is a command: it has .outputs and .inputs, not .key"#
        ),
        (
            #"[{"$id":"it","$range":[]},{"$id":"b","$command":"x","inputs":{"v":"$it.inputs"}}]"#,
            #"reference "$it.inputs": step "it" is an iteration: it has .key, .val and .outputs, not .inputs"#
        ),
        (
            #"[{"$id":"p","$print":{}},{"$id":"b","$command":"x","inputs":{"v":"$p.val"}}]"#,
            #"reference "$p.val": step "p" is a print step: it has only .outputs"#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"x","inputs":{"v":"$it.outputs"}}]}]"#,
            #"reference "$it.outputs": iteration "it" contains this step, so its outputs are not complete yet; use .key or .val"#
        ),
        // Selections into iterations.
        (
            #"[{"$id":"a","$command":"x"},{"$id":"b","$command":"x","inputs":{"v":"$a[0].$c.outputs"}}]"#,
            #"reference "$a[0].$c.outputs": step "a" is not an iteration, so "a[…]" selects nothing"#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"x"}]},{"$id":"b","$command":"x","inputs":{"v":"$it[0].$d.outputs"}}]"#,
            #"reference "$it[0].$d.outputs": iteration "it" has no step "d""#
        ),
        (
            #"[{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"x"}]},{"$id":"b","$command":"x","inputs":{"v":"$it[-1].$c.outputs"}}]"#,
            #"reference "$it[-1].$c.outputs": the iteration index of "it" must not be negative"#
        ),
        // Nested references are checked too.
        (
            #"[{"$id":"a","$command":"x"},{"$id":"b","$command":"x","inputs":{"v":"$a.outputs[$zz.key]"}}]"#,
            #"flow[1] (step "b"): inputs.v: reference "$zz.key": no step "zz" in this flow"#
        ),
        // References in every position.
        (#"[{"$id":"a","$range":["$q.outputs"]}]"#, #"flow[0] (step "a"): $range[0]: reference "$q.outputs": no step "q""#),
        (
            #"[{"$id":"p","$print":{"hide":"$q.outputs"}}]"#,
            #"flow[0] (step "p"): $print.hide: reference "$q.outputs": no step "q""#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":"$q.outputs"}]"#,
            #"flow[0] (step "a"): inputs: reference "$q.outputs": no step "q""#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":{"deep":[{"k":["$q.outputs"]}]}}]"#,
            #"flow[0] (step "a"): inputs.deep[0].k[0]: reference "$q.outputs""#
        ),
        (#"[{"$id":"a","$command":"x","inputs":{"a-b":"$q.outputs"}}]"#, #"flow[0] (step "a"): inputs["a-b"]: reference"#),
        // $inputs: a plain path, or (as in the original) a jq filter; neither → error.
        (
            #"[{"$id":"a","$command":"x","inputs":{"v":"$inputs.a-b"}}]"#,
            #"flow[0] (step "a"): inputs.v: reference "$inputs.a-b": unexpected "-" after the reference at offset 9; write keys with characters other than letters, digits and "_" as ["..."]; as a jq filter over the inputs it is not valid either: invalid jq filter: b/0 is not defined"#
        ),
    ])
    func referenceErrors(_ flow: String, _ expected: String) {
        let message = parseError(flow)
        #expect(message?.contains(expected) == true, "got: \(message ?? "no error")")
    }

    @Test func sameIdInDifferentArraysIsFine() throws {
        let flow = try Flow.parse(
            """
            [{"$id":"c","$command":"x"},{"$id":"it","$range":[1],"$steps":[{"$id":"c","$command":"y"}]}]
            """)
        #expect(flow.stepMax == 2)
        #expect(flow.commandNames == ["x", "y"])
    }

    @Test func unknownKeysAreIgnoredAndKindPrecedenceIsTheOriginals() throws {
        let flow = try Flow.parse(#"[{"$id":"a","$command":"x","$range":"ignored","note":"hi"}]"#)
        #expect(flow.steps[0].kind == .command)
    }

    @Test func stepMaxCountsTopLevelStepsOnly() throws {
        let flow = try Flow.parse(
            """
            [{"$id":"a","$command":"x"},
             {"$id":"it","$range":[1,2],"$steps":[{"$id":"c","$command":"y"},{"$id":"in","$range":[3],"$steps":[{"$id":"d","$command":"z"}]}]},
             {"$id":"p","$print":{"hide":["a"]}}]
            """)
        #expect(flow.stepMax == 3)
        #expect(flow.commandNames == ["x", "y", "z"])
        #expect(flow.steps.map(\.kind) == [.command, .range, .print])
        #expect(flow.steps[1].steps.map(\.id) == ["c", "in"])
        #expect(flow.steps[1].steps[1].steps[0].location == "flow[1].$steps[1].$steps[0]")
        #expect(flow.steps[1].steps[1].steps[0].command == "z")
    }

    @Test func sourceIsKeptVerbatim() throws {
        let text = #"[{"$id":"a","$command":"x","inputs":{"k":"$$v","extra":[1,2]}}]"#
        #expect(try Flow.parse(text).source == json(text))
    }

    @Test func inputsFilterCompileErrorIsAParseError() {
        let message = parseError(#"[{"$id":"a","$command":"x","inputs":{"v":"$inputs.a | nosuch"}}]"#)
        #expect(message?.contains("nosuch/0 is not defined") == true, "got: \(message ?? "no error")")
    }
}
