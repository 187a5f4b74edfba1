import ClaiflowCore
import ClaiflowStore
import Foundation
import Logging

/// Test support shared by the test targets (not part of the product).
///
/// The stores the contract suite runs against. PostgreSQL runs when CLAIFLOW_TEST_POSTGRES_URL
/// names a server (scripts/test.sh starts one); CI sets CLAIFLOW_REQUIRE_POSTGRES=1 so that a
/// missing server fails the run instead of silently testing only SQLite.
public enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var postgresURL: String? {
        let url = ProcessInfo.processInfo.environment["CLAIFLOW_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }

    /// The kinds to run: SQLite always, PostgreSQL when configured or required.
    public static var available: [StoreKind] {
        let required = ProcessInfo.processInfo.environment["CLAIFLOW_REQUIRE_POSTGRES"] == "1"
        return postgresURL != nil || required ? [.sqlite, .postgres] : [.sqlite]
    }
}

/// Creates an empty, migrated store of a kind: a new SQLite file, or a new PostgreSQL database.
public enum StoreFixture {
    public static let logger = Logger(label: "test")

    /// Runs `body` on a store over a new database of `kind` (migrated unless `migrate` is false),
    /// then closes and removes it.
    public static func withStore<T>(
        _ kind: StoreKind, migrate: Bool = true, _ body: (Store) async throws -> T
    ) async throws -> T {
        let (url, cleanup) = try await freshDatabaseURL(kind)
        let store = try Store.open(url: url, logger: logger)
        do {
            if migrate { try await store.migrate() }
            let result = try await body(store)
            await store.close()
            try await cleanup()
            return result
        } catch {
            await store.close()
            try? await cleanup()
            throw error
        }
    }

    /// A URL of a new empty database of a kind and a function that removes it.
    public static func freshDatabaseURL(_ kind: StoreKind) async throws -> (String, @Sendable () async throws -> Void) {
        switch kind {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("claiflow-test-\(Identifier.generate())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return ("sqlite:\(dir.path)/store.sqlite", { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            guard let base = StoreKind.postgresURL else {
                throw StoreError.configuration("CLAIFLOW_REQUIRE_POSTGRES=1 but CLAIFLOW_TEST_POSTGRES_URL is not set")
            }
            let name = "t_" + Identifier.generate()
            let admin = try PostgresDatabase(url: base, maximumConnections: 1, logger: logger)
            _ = try await admin.read { db in try await db.execute(SQL(stringLiteral: "CREATE DATABASE \(name)")) }
            await admin.close()
            var components = URLComponents(string: base)!
            components.path = "/" + name
            let url = components.string!
            return (
                url,
                {
                    let admin = try PostgresDatabase(url: base, maximumConnections: 1, logger: logger)
                    _ = try? await admin.read { db in
                        try await db.execute(SQL(stringLiteral: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
                    }
                    await admin.close()
                }
            )
        }
    }
}
