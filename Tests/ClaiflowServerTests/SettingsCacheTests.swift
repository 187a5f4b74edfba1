import ClaiflowCore
import Testing

@testable import ClaiflowServer

@Suite("Settings cache")
struct SettingsCacheTests {
    private func rows(sessionExpiration: String) -> [GlobalVariable] {
        let now = Timestamp.now()
        let v = KnownGlobalVariable.clientSessionExpirationTime
        return [GlobalVariable(uuid: v.uuid, name: v.name, summary: nil, value: sessionExpiration, created: now, updated: now)]
    }

    @Test("a reload that read before a later one finishes last: the later one's settings stay")
    func staleReloadIsDropped() {
        let cache = SettingsCache()
        let periodic = cache.beginReload()  // the refresher reads the old rows…
        let afterChange = cache.beginReload()  // …while a change made here reloads the new ones
        _ = cache.apply(rows: rows(sessionExpiration: "90s"), ticket: afterChange)
        _ = cache.apply(rows: rows(sessionExpiration: "1m"), ticket: periodic)
        #expect(cache.settings.sessionExpiration == .seconds(90))
        // A reload started afterwards applies as usual.
        _ = cache.apply(rows: rows(sessionExpiration: "2m"), ticket: cache.beginReload())
        #expect(cache.settings.sessionExpiration == .seconds(120))
    }
}
