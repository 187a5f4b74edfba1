import ClaiflowTestSupport

/// A fresh SQLite database URL for tests that start several servers on one database.
enum StoreFixtureURL {
    static func fresh(_ kind: StoreKind = .sqlite) async throws -> (String, @Sendable () async throws -> Void) {
        try await StoreFixture.freshDatabaseURL(kind)
    }
}
