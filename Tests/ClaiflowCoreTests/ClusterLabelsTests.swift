import ClaiflowCore
import Testing

@Suite("Cluster labels")
struct ClusterLabelsTests {
    static func problem(_ labels: [String: String]) -> String? {
        do {
            _ = try ClusterLabels(validating: labels)
            return nil
        } catch {
            #expect(error.kind == .invalidArgument)
            return error.message
        }
    }

    @Test(
        "valid keys and values as Kubernetes accepts them",
        arguments: [
            "a", "A", "0", "app", "app.kubernetes.io/name", "example.com/a-b_c.d", "k8s.io/X",
            String(repeating: "a", count: 63), String(repeating: "a", count: 253) + "/" + String(repeating: "b", count: 63),
            "a-b.c-d/e",
        ])
    func validKeys(key: String) {
        #expect(Self.problem([key: "v"]) == nil)
    }

    @Test(
        "invalid keys are refused naming the label",
        arguments: [
            "", "bad key", "-a", "a-", "_a", "a.", "a/b/c", "/a", "a/", "Example.com/a", "ex_ample.com/a", "-ex.com/a",
            "ex..com/a", String(repeating: "a", count: 64), String(repeating: "a", count: 254) + "/b", "ä", "a:b",
        ])
    func invalidKeys(key: String) throws {
        let message = try #require(Self.problem([key: "v"]))
        var quoted = ""
        JSONValue.writeString(key, into: &quoted)
        #expect(message.hasPrefix("labels[\(quoted)]: invalid key: "))
    }

    @Test("values: empty allowed, 63 characters of the name alphabet, alphanumeric at both ends")
    func values() throws {
        for good in ["", "v", "V1", "a.b-c_d", String(repeating: "x", count: 63)] {
            #expect(Self.problem(["k": good]) == nil, "\(good)")
        }
        for bad in ["-v", "v-", " v", "a b", "a/b", String(repeating: "x", count: 64), "é"] {
            let message = try #require(Self.problem(["k": bad]))
            #expect(message.hasPrefix("labels[\"k\"]: invalid value "), "\(message)")
        }
    }

    @Test("at most 64 labels")
    func count() throws {
        let many = Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", "v") })
        #expect(Self.problem(many) == nil)
        var tooMany = many
        tooMany["k64"] = "v"
        #expect(try #require(Self.problem(tooMany)).contains("at most 64 labels"))
    }

    @Test("the first bad label in key order is named")
    func firstBad() {
        #expect(Self.problem(["z z": "v", "b b": "v", "a": "ok"])?.hasPrefix("labels[\"b b\"]") == true)
    }

    @Test("JSON round trip with sorted keys; {} when none")
    func json() throws {
        let labels = try ClusterLabels(validating: ["zone": "a", "env": "", "example.com/tier": "web"])
        #expect(labels.json == #"{"env":"","example.com/tier":"web","zone":"a"}"#)
        #expect(try ClusterLabels(json: labels.json) == labels)
        #expect(ClusterLabels().json == "{}")
        #expect(try ClusterLabels(json: "{}").isEmpty)
        #expect(throws: ClaiflowError.self) { try ClusterLabels(json: "[]") }
    }
}
