import ClaiflowCore
import ClaiflowStore
import ClaiflowTestSupport
import Testing

@Suite("PostgreSQL start", .enabled(if: StoreKind.available.contains(.postgres)))
struct PostgresStartTests {
    @Test("opening, migrating and querying a PostgreSQL store logs no warning (PostgresNIO's client runs before the first lease)")
    func startLogsNoWarning() async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.postgres)
        let logs = CapturedLogs()
        for _ in 0..<5 {
            let store = try Store.open(url: url, logger: logs.logger(label: "pg-start", level: .info))
            try await store.migrate()
            _ = try await store.installationKey(generate: { "key" })
            await store.close()
        }
        try await cleanup()
        let warnings = logs.records.filter { $0.level >= .warning }.map(\.message)
        #expect(warnings.isEmpty, "\(warnings)")
    }
}
