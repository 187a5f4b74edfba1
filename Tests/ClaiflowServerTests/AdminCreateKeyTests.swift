import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Testing

/// `claiflow admin create-key`, run as the binary an operator runs.
@Suite("claiflow admin create-key", .serialized)
struct AdminCreateKeyTests {
    /// The `claiflow` binary built next to these tests.
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/claiflow")
    }

    /// Runs the binary; returns its exit status, stdout and stderr. Waits without blocking a
    /// thread of the cooperative pool (the output goes to files, the exit to a continuation).
    static func claiflow(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ClaiflowError(.internal, "\(binary.path) is missing: run `swift build` before the tests")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("create-key-\(Identifier.generate())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CLAIFLOW_DATABASE"] = nil
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try p.run()
            } catch {
                p.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (status, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    @Test("prints a key once that authenticates with its role against a server on that database", arguments: StoreKind.available)
    func createKey(kind: StoreKind) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
        do {
            try await Self.check(url: url, kind: kind)
        } catch {
            try? await cleanup()
            throw error
        }
        try await cleanup()
    }

    static func check(url: String, kind: StoreKind) async throws {
        // An empty database: the command migrates it first.
        let admin = try await Self.claiflow(["admin", "create-key", "--database", url, "--name", "break-glass"])
        #expect(admin.status == 0, "\(admin.stderr)")
        let adminKey = admin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!adminKey.isEmpty && !adminKey.contains("\n"), "stdout: \(admin.stdout)")
        #expect(admin.stderr.contains("break-glass") && !admin.stderr.contains(adminKey))
        let viewer = try await Self.claiflow(["admin", "create-key", "--database", url, "--role", "viewer"])
        #expect(viewer.status == 0, "\(viewer.stderr)")
        let viewerKey = viewer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let bad = try await Self.claiflow(["admin", "create-key", "--database", url, "--role", "root"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--role must be viewer, operator or admin"))
        #expect(bad.stdout.isEmpty)

        try await TestServer.with(kind, databaseURL: url) { s in
            let keys = try await s.request(.GET, "/api/v1/api_key", key: adminKey)
            #expect(keys.status == 200)
            #expect(keys.body.contains("break-glass"))
            #expect(try await s.request(.GET, "/api/v1/api_key", key: viewerKey).status == 403)
            #expect(try await s.request(.GET, "/api/v1/cluster", key: viewerKey).status == 200)
            #expect(try await s.request(.GET, "/api/v1/cluster", key: "not-a-key-0123456789").status == 401)
        }
    }

    @Test("without --database (nor CLAIFLOW_DATABASE) it fails with a message naming the flag")
    func databaseRequired() async throws {
        let r = try await Self.claiflow(["admin", "create-key"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--database is required"))
    }
}
