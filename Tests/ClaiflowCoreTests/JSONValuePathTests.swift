import ClaiflowCore
import Testing

@Suite("JSONValue paths")
struct JSONValuePathTests {
    @Test("reads members and elements exactly; a missing step is nil, an explicit null is .null")
    func read() throws {
        let value = try JSONValue.parse(#"{"spec":{"containers":[{"name":"app","image":"nginx:1"}],"Replicas":2},"gone":null}"#)
        #expect(value[path: ["spec", "containers", "0", "image"]] == .string("nginx:1"))
        #expect(value[path: ["spec", "containers", "1"]] == nil)
        #expect(value[path: ["spec", "replicas"]] == nil)  // exact, unlike field(_:)
        #expect(value[path: ["gone"]] == .null)
        #expect(value[path: ["spec", "containers", "x"]] == nil)
        #expect(value[path: []] == value)
    }

    @Test("writes create objects on the way, replace or append elements, and nil removes a member")
    func write() throws {
        var value = try JSONValue.parse(#"{"spec":{"containers":[{"name":"app"}]}}"#)
        value[path: ["metadata", "annotations", "claiflow/restartedAt"]] = .string("now")
        value[path: ["spec", "containers", "0", "image"]] = .string("nginx:2")
        value[path: ["spec", "containers", "1"]] = .object(["name": .string("sidecar")])
        value[path: ["spec", "containers", "5"]] = .object([:])  // out of range: unchanged
        value[path: ["spec", "containers", "0", "name"]] = nil
        value[path: ["absent", "deeper"]] = nil  // nothing to remove: no object created
        #expect(
            value.serialized()
                == #"{"metadata":{"annotations":{"claiflow/restartedAt":"now"}},"spec":{"containers":[{"image":"nginx:2"},{"name":"sidecar"}]}}"#
        )
        var scalar = JSONValue.string("x")
        scalar[path: ["a"]] = .integer(1)
        #expect(scalar == .string("x"))
    }

    @Test("typed accessors")
    func accessors() {
        #expect(JSONValue.string("a").stringValue == "a")
        #expect(JSONValue.integer(3).integerValue == 3)
        #expect(JSONValue.number(3).integerValue == 3)
        #expect(JSONValue.number(3.5).integerValue == nil)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.object([:]).objectValue == [:])
        #expect(JSONValue.bool(true).stringValue == nil)
    }
}
