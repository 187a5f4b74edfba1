import ClaiflowCLI
import Foundation
import Testing

/// Tables, ages and the JSON/YAML output.
@Suite("CLI output")
struct OutputTests {
    @Test("a table aligns its columns under an upper-case header")
    func table() {
        let t = Table(header: ["name", "status", "age"], rows: [["a", "succeeded", "3m"], ["long-name", "failed", "2d"]])
        #expect(
            t.render() == """
                NAME        STATUS      AGE
                a           succeeded   3m
                long-name   failed      2d

                """)
    }

    @Test(
        "ages read like kubectl's",
        arguments: [
            (0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86400, "1d"), (400 * 86400, "1y"), (-5, "0s"),
        ])
    func age(seconds: Int, expected: String) {
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        #expect(RelativeAge.format(now.addingTimeInterval(TimeInterval(-seconds)), now: now) == expected)
    }

    struct Sample: Encodable {
        let name: String
        let count: Int
        let on: Bool
        let created: Date
        let text: String
        let nested: [String: String]
    }

    @Test("JSON keeps microseconds and sorts keys; YAML says the same and quotes what would change type")
    func jsonAndYAML() throws {
        let created = MicrosecondDateTranscoder()
        let date = try created.decode("2026-11-25T15:28:16.103405Z")
        let sample = Sample(name: "a/b", count: 3, on: true, created: date, text: "true", nested: ["k": "007"])
        let json = try OutputPrinter.json(sample)
        #expect(json.contains(#""created" : "2026-11-25T15:28:16.103405Z""#))
        #expect(json.contains(#""name" : "a/b""#))
        let keys = json.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(keys == ["count", "created", "name", "nested", "on", "text"])
        let yaml = try OutputPrinter.yaml(sample)
        #expect(yaml.contains("count: 3\n"))
        #expect(yaml.contains("on: true\n"))
        #expect(yaml.contains("text: \"true\"\n"))
        #expect(yaml.contains("k: \"007\"\n"))
        #expect(
            yaml.contains("created: 2026-11-25T15:28:16.103405Z") || yaml.contains("created: \"2026-11-25T15:28:16.103405Z\""))
    }
}
