import ClaiflowCore
import ClaiflowFlow
import Testing

@Suite("Flow features: which flows need the flow language v2")
struct FlowFeaturesTests {
    @Test("a flow of the original's constructs is not v2")
    func original() throws {
        let flow = try JSONValue.parse(
            #"""
            [{"$id":"a","$command":"claiflow.echo","inputs":{"x":"$inputs.x"}},
             {"$id":"r","$range":[1,2],"$steps":[{"$id":"e","$command":"claiflow.echo","inputs":{"v":"$r.val"}}]},
             {"$id":"p","$print":{"hide":["a"]}}]
            """#)
        #expect(!FlowFeatures.usesV2(flow))
        // A value that spells a v2 key is not a key.
        #expect(!FlowFeatures.usesV2(try JSONValue.parse(#"[{"$id":"a","$command":"claiflow.echo","inputs":{"k":"$if"}}]"#)))
    }

    @Test("each v2 key makes a flow v2, at the top level or nested anywhere", arguments: Array(FlowFeatures.v2Keys).sorted())
    func v2Key(key: String) throws {
        #expect(FlowFeatures.usesV2(try JSONValue.parse(#"[{"$id":"a","$command":"claiflow.echo","\#(key)":"1s"}]"#)))
        let nested = try JSONValue.parse(
            #"[{"$id":"r","$range":[1],"$steps":[{"$id":"e","$command":"claiflow.echo","\#(key)":true}]}]"#)
        #expect(FlowFeatures.usesV2(nested))
        #expect(FlowFeatures.usesV2(text: nested.serialized()))
    }

    @Test("the keys are those of issue 17")
    func keys() {
        #expect(
            FlowFeatures.v2Keys
                == [
                    "$if", "$condition", "$retry", "$timeout", "$parallel", "$max_concurrency", "$on_failure", "$continue",
                    "$result",
                ])
        #expect(!FlowFeatures.usesV2(text: "not json"))
    }
}
