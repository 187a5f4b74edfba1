import ClaiflowCore
import Testing

@testable import ClaiflowFlow

@Suite("Validation of the flow language v2")
struct V2ValidationTests {
    static let invalid: [(String, String)] = [
        (#"[{"$id":"a","$command":"x","$retries":3}]"#, #"flow[0] (step "a"): unknown key "$retries"; a step's "$" keys are "#),
        (#"[{"$id":"a","$if":".x ==","$then":[]}]"#, #"flow[0] (step "a"): $if: not a valid jq program: "#),
        (
            #"[{"$id":"a","$if":"true","$condition":"true","$then":[]}]"#,
            #"flow[0] (step "a"): "$if" and "$condition" are the same key"#
        ),
        (#"[{"$id":"a","$if":"true"}]"#, #"flow[0] (step "a"): $then: is required"#),
        (#"[{"$id":"a","$if":"true","$then":{}}]"#, #"flow[0] (step "a"): $then: must be an array of steps, got object"#),
        (#"[{"$id":"a","$if":"true","$then":[{"$id":"b"}]}]"#, #"flow[0].$then[0] (step "b"): unknown step kind"#),
        (
            #"[{"$id":"a","$command":"x","$then":[]}]"#,
            #"flow[0] (step "a"): $then: only a condition step (with "$if") has $then"#
        ),
        (#"[{"$id":"a","$command":"x","$if":"true"}]"#, #"flow[0] (step "a"): a step has one kind"#),
        (#"[{"$id":"a","$command":"x","$result":"map("}]"#, #"flow[0] (step "a"): $result: not a valid jq program: "#),
        (#"[{"$id":"a","$print":{},"$result":"."}]"#, #"flow[0] (step "a"): $result: only a command step has "$result""#),
        (#"[{"$id":"a","$command":"x","$timeout":"soon"}]"#, #"flow[0] (step "a"): $timeout: must be a duration such as"#),
        (#"[{"$id":"a","$command":"x","$timeout":"0s"}]"#, #"flow[0] (step "a"): $timeout: must be more than 0"#),
        (#"[{"$id":"a","$command":"x","$timeout":30}]"#, #"flow[0] (step "a"): $timeout: must be a duration such as"#),
        (#"[{"$id":"a","$range":[],"$retry":{}}]"#, #"flow[0] (step "a"): $retry: only a command step can be retried"#),
        (#"[{"$id":"a","$command":"x","$retry":3}]"#, #"flow[0] (step "a"): $retry: must be an object"#),
        (#"[{"$id":"a","$command":"x","$retry":{"attempts":3}}]"#, #"flow[0] (step "a"): $retry: unknown key "attempts""#),
        (
            #"[{"$id":"a","$command":"x","$retry":{"max_attempts":0}}]"#,
            #"flow[0] (step "a"): $retry.max_attempts: must be an integer from 1 to 100"#
        ),
        (#"[{"$id":"a","$command":"x","$retry":{"backoff":"2 s"}}]"#, #"flow[0] (step "a"): $retry.backoff: must be a duration"#),
        (
            #"[{"$id":"a","$command":"x","$retry":{"factor":0.5}}]"#,
            #"flow[0] (step "a"): $retry.factor: must be a number from 1 to 100"#
        ),
        (
            #"[{"$id":"a","$command":"x","$retry":{"jitter":2}}]"#,
            #"flow[0] (step "a"): $retry.jitter: must be a number from 0 to 1"#
        ),
        (
            #"[{"$id":"a","$command":"x","$retry":{"until":".status <"}}]"#,
            #"flow[0] (step "a"): $retry.until: not a valid jq program"#
        ),
        (
            #"[{"$id":"a","$command":"x","$max_concurrency":2}]"#,
            #"flow[0] (step "a"): $max_concurrency: only "$range" and "$parallel""#
        ),
        (
            #"[{"$id":"a","$range":[],"$max_concurrency":0}]"#,
            #"flow[0] (step "a"): $max_concurrency: must be an integer from 1 to 1000"#
        ),
        (#"[{"$id":"a","$parallel":[]}]"#, #"flow[0] (step "a"): $parallel: must be a non-empty array of branches"#),
        (#"[{"$id":"a","$parallel":[{}]}]"#, #"flow[0] (step "a"): $parallel[0]: must be an array of steps, got object"#),
        (#"[{"$id":"a","$command":"x","$continue":true}]"#, #"flow[0] (step "a"): $continue: needs "$on_failure""#),
        (
            #"[{"$id":"a","$command":"x","$on_failure":[]}]"#,
            #"flow[0] (step "a"): $on_failure: must be a non-empty array of steps"#
        ),
        (
            #"[{"$id":"a","$command":"x","$on_failure":[{"$id":"h","$command":"y","inputs":{"v":"$a.outputs"}}]}]"#,
            #"flow[0].$on_failure[0] (step "h"): inputs.v: reference "$a.outputs": step "a" failed before its $on_failure handler runs"#
        ),
        (
            #"[{"$id":"a","$command":"x","$on_failure":[{"$id":"h","$command":"y"}]},{"$id":"z","$command":"y","inputs":{"v":"$h.outputs"}}]"#,
            #"flow[1] (step "z"): inputs.v: reference "$h.outputs": step "h" is in the $on_failure handler of step "a", which runs only when that step fails"#
        ),
        (
            #"[{"$id":"a","$command":"x","inputs":{"m":"$error.message"}}]"#,
            #"flow[0] (step "a"): inputs.m: reference "$error.message": expected .outputs, .inputs, .key or .val after step "error""#
        ),
        (
            #"[{"$id":"c","$if":"true","$then":[{"$id":"t","$command":"x"}]},{"$id":"z","$command":"y","inputs":{"v":"$t.outputs"}}]"#,
            #"flow[1] (step "z"): inputs.v: reference "$t.outputs": step "t" is in a branch of condition "c", which may not run; read "$c.outputs""#
        ),
        (
            #"[{"$id":"c","$if":"true","$then":[{"$id":"t","$command":"x","inputs":{"v":"$c.outputs"}}]}]"#,
            #"flow[0].$then[0] (step "t"): inputs.v: reference "$c.outputs": step "c" contains this step"#
        ),
        (
            #"[{"$id":"c","$if":"true","$then":[{"$id":"t","$command":"x"}],"$else":[{"$id":"t","$command":"x"}]}]"#,
            #"flow[0].$else[0] (step "t"): duplicate "$id" (also used by flow[0].$then[0])"#
        ),
        (
            #"[{"$id":"t","$command":"x"},{"$id":"p","$parallel":[[{"$id":"t","$command":"x"}]]}]"#,
            #"flow[1].$parallel[0][0] (step "t"): duplicate "$id" (also used by flow[0])"#
        ),
        (
            #"[{"$id":"p","$parallel":[[{"$id":"a","$command":"x"}]]},{"$id":"z","$command":"y","inputs":{"v":"$p.key"}}]"#,
            #"flow[1] (step "z"): inputs.v: reference "$p.key": step "p" is a parallel step: it has only .outputs"#
        ),
    ]

    @Test(arguments: invalid)
    func invalidConstructsAreRejectedNamingTheStepAndTheReason(_ flow: String, _ expected: String) {
        let message = parseError(flow)
        #expect(message?.hasPrefix(expected) == true, "\(message ?? "no error")")
    }

    @Test func validConstructsParse() throws {
        let flow = try Flow.parse(
            """
            [{"$id":"a","$command":"http.request","inputs":{"url":"$inputs.url"},"$timeout":"30s",
              "$retry":{"max_attempts":3,"backoff":"2s","factor":2,"max_backoff":"1m","jitter":0.1,"until":".status < 500"},
              "$result":".body","$on_failure":[{"$id":"h","$command":"claiflow.echo","inputs":{"e":"$error","in":"$a.inputs"}}],
              "$continue":true},
             {"$id":"c","$condition":".steps.a.outputs != null","$then":[{"$id":"t","$command":"claiflow.echo","inputs":{"a":"$a.outputs"}}],
              "$else":[]},
             {"$id":"p","$parallel":[[{"$id":"p1","$command":"claiflow.sleep"}],[{"$id":"p2","$command":"claiflow.sleep"},
               {"$id":"p3","$command":"claiflow.echo","inputs":{"v":"$p2.outputs","c":"$c.outputs"}}]],"$max_concurrency":2,"$timeout":"1m"},
             {"$id":"it","$range":"$p.outputs","$max_concurrency":4,"$steps":[{"$id":"e","$command":"claiflow.echo","inputs":{"v":"$it.val"}}]},
             {"$id":"z","$command":"claiflow.echo","inputs":{"p1":"$p1.outputs","p3":"$p3.outputs","it":"$it.outputs"}}]
            """)
        #expect(flow.stepMax == 5)
        #expect(flow.commandNames == ["claiflow.echo", "claiflow.sleep", "http.request"])
        #expect(flow.steps.map(\.kind) == [.command, .condition, .parallel, .range, .command])
    }

    @Test func aStepNamedErrorIsStillReadableOutsideHandlers() async throws {
        let flow =
            #"[{"$id":"error","$command":"emit","inputs":{"value":7}},{"$id":"z","$command":"echo","inputs":{"v":"$error.outputs"}}]"#
        #expect(try await result(flow) == json(#"{"v":7}"#))
    }
}
