import ClaiflowTestSupport
import Foundation
import Testing
import Yams

/// `claiflow agent manifests`, run as the built binary.
@Suite("claiflow agent manifests")
struct AgentManifestsCommandTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/claiflow")

    /// Runs the binary; returns its exit status, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try ProcessLauncher.run(process)
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        ProcessLauncher.waitUntilExit(process)
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test("prints the manifests at the chosen level; refuses an unknown level with a usage error")
    func manifests() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "run `swift build` before the tests")
        let (status, output, _) = try Self.run([
            "agent", "manifests", "--cluster-uuid", "prod-eu-1", "--token", "tok", "--server", "https://cf.example.com",
            "--namespace", "agents", "--rbac", "read-only", "-l", "team=platform",
        ])
        #expect(status == 0)
        let documents = try Yams.load_all(yaml: output).compactMap { $0 as? [String: Any] }
        #expect(documents.compactMap { $0["kind"] as? String }.count == 8)
        let role = try #require(documents.first { $0["kind"] as? String == "ClusterRole" })
        let verbs = Set(((role["rules"] as? [[String: Any]]) ?? []).flatMap { $0["verbs"] as? [String] ?? [] })
        #expect(verbs == ["get", "list", "watch"])
        let namespace = try #require(documents.first { $0["kind"] as? String == "Namespace" })
        let metadata = namespace["metadata"] as? [String: Any]
        #expect(metadata?["name"] as? String == "agents")
        #expect((metadata?["labels"] as? [String: String])?["team"] == "platform")

        let (bad, _, error) = try Self.run([
            "agent", "manifests", "--cluster-uuid", "c", "--token", "t", "--server", "https://x", "--rbac", "root",
        ])
        #expect(bad == 2)  // a usage error (docs/cli.md)
        #expect(error.contains("--rbac: must be read-only, standard or admin, got \"root\""))

        let (invalid, _, reason) = try Self.run([
            "agent", "manifests", "--cluster-uuid", "c", "--token", "t", "--server", "https://x", "--namespace", "Bad_NS",
        ])
        #expect(invalid == 2)
        #expect(reason.contains("namespace: must be a DNS label"))
    }
}
