import ClaiflowCore
import Synchronization
import Testing

@testable import ClaiflowServer

/// The compiled-template cache of service creates: reused while a template's flow and schema
/// text are unchanged, compiled again as soon as either differs (whatever `updated` says).
@Suite("Template cache")
struct TemplateCacheTests {
    /// The real checker, counting its work.
    final class CountingChecker: FlowChecker {
        let flows = Atomic<Int>(0)
        let schemas = Atomic<Int>(0)

        func check(flow: JSONValue) throws(ClaiflowError) -> FlowInfo {
            flows.add(1, ordering: .relaxed)
            return try DefaultFlowChecker().check(flow: flow)
        }

        func compile(schema: JSONValue) throws(ClaiflowError) -> any InputsSchema {
            schemas.add(1, ordering: .relaxed)
            return try DefaultFlowChecker().compile(schema: schema)
        }

        var counts: [Int] { [flows.load(ordering: .relaxed), schemas.load(ordering: .relaxed)] }
    }

    static let at = Timestamp(microseconds: 1_700_000_000_000_000)

    static func template(
        flow: String = #"[{"$id":"s1","$command":"echo","inputs":"$inputs"}]"#,
        inputs: String = #"{"type":"object","required":["a"]}"#
    ) -> Template {
        Template(
            uuid: "t1", name: "t", summary: nil, flow: flow, inputs: inputs, origin: "userdefined", builtin: false, created: at,
            updated: at)
    }

    @Test("a second use of an unchanged template compiles nothing")
    func hit() throws {
        let checker = CountingChecker()
        let cache = TemplateCache()
        let first = try cache.compiled(Self.template(), checker: checker)
        let second = try cache.compiled(Self.template(), checker: checker)
        #expect(checker.counts == [1, 1])
        #expect(first.flow == second.flow)
        #expect(first.flow?.stepMax == 1)
        #expect(second.schema.violations(of: .object([:])).count == 1)
    }

    @Test("a changed flow or schema is compiled again, with the same updated time")
    func changedContent() throws {
        let checker = CountingChecker()
        let cache = TemplateCache()
        _ = try cache.compiled(Self.template(), checker: checker)
        let twoSteps = #"[{"$id":"s1","$command":"echo"},{"$id":"s2","$command":"echo"}]"#
        let newFlow = try cache.compiled(Self.template(flow: twoSteps), checker: checker)
        #expect(newFlow.flow?.stepMax == 2)
        let newSchema = try cache.compiled(Self.template(flow: twoSteps, inputs: #"{"type":"object"}"#), checker: checker)
        #expect(newSchema.schema.violations(of: .object([:])).isEmpty)
        #expect(checker.counts == [3, 3])
        #expect(cache.count == 1)
    }

    @Test("an invalid schema is a 400 naming the template; an invalid flow is kept as none")
    func invalid() throws {
        let cache = TemplateCache()
        #expect(throws: ClaiflowError.self) {
            try cache.compiled(Self.template(inputs: #"{"type":7}"#), checker: DefaultFlowChecker())
        }
        let broken = try cache.compiled(Self.template(flow: #"{"not":"a flow"}"#), checker: DefaultFlowChecker())
        #expect(broken.flow == nil)
    }
}
