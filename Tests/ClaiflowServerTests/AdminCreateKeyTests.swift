import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Foundation
import Testing

/// `claiflow admin create-key`, run as the binary an operator runs.
@Suite("claiflow admin create-key", .serialized)
struct AdminCreateKeyTests {
    /// Runs the `claiflow` binary built next to these tests, without `CLAIFLOW_DATABASE`.
    static func claiflow(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let outcome = try await ClaiflowBinary.run(arguments, environment: ["CLAIFLOW_DATABASE": nil])
        return (outcome.status, outcome.stdout, outcome.stderr)
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
