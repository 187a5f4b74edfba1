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

    @Test("the installation key is created once when several stores ask at the same moment", arguments: StoreKind.available)
    func installationKeyOnce(kind: StoreKind) async throws {
        for _ in 0..<5 {
            let (url, cleanup) = try await StoreFixture.freshDatabaseURL(kind)
            var stores: [Store] = []
            for _ in 0..<4 {
                let store = try Store.open(url: url, logger: StoreFixture.logger)
                try await store.migrate()  // also opens a connection, so that the calls below start together
                stores.append(store)
            }
            let opened = stores
            let keys = await withTaskGroup(of: Result<String, any Error>.self) { group in
                for (i, store) in opened.enumerated() {
                    group.addTask {
                        do { return .success(try await store.installationKey(generate: { "key-\(i)" })) } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<String, any Error>] = []
                for await k in group { all.append(k) }
                return all
            }
            for store in stores { await store.close() }
            try await cleanup()
            let values = keys.compactMap { try? $0.get() }
            #expect(values.count == 4, "\(keys)")
            #expect(Set(values).count == 1, "\(values)")
        }
    }
}
