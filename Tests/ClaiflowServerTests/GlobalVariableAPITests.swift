import ClaiflowCore
import ClaiflowServer
import ClaiflowTestSupport
import Testing

@Suite("Global variables API")
struct GlobalVariableAPITests {
    @Test("the four variables are seeded; the signing secret is random, masked and never returned")
    func seeded() async throws {
        try await TestServer.with { s in
            let list = try await s.request(.GET, "/api/v1/global_variables")
            #expect(list.status == 200)
            let byName = Dictionary(
                uniqueKeysWithValues: list.array.compactMap { v -> (String, JSONValue)? in
                    guard case .string(let n) = v.field("name") else { return nil }
                    return (n, v)
                })
            #expect(Set(byName.keys) == Set(KnownGlobalVariable.allCases.map(\.name)))
            #expect(byName["ClusterToken/ExpirationTime"]?.field("value") == .string("8760h0m0s"))
            #expect(byName["ClientSession/SignatureSecret"]?.field("value") == .string("********"))
            let secretUUID = KnownGlobalVariable.clientSessionSignatureSecret.uuid
            let stored = try #require(try await s.store.globalVariable(uuid: secretUUID))
            #expect(Base64.decode(stored.value)?.count == 32)
            #expect(!list.body.contains(stored.value))
            let one = try await s.request(.GET, "/api/v1/global_variables/\(secretUUID)")
            #expect(one.string("value") == "********")
            #expect(s.app.settings.settings.sessionSignatureSecret == Base64.decode(stored.value))

            // Setting a new secret works, and the reply still masks it.
            let newSecret = Base64.encode([UInt8](repeating: 42, count: 48))
            let put = try await s.request(.PUT, "/api/v1/global_variables/\(secretUUID)", json: #"{"value":"\#(newSecret)"}"#)
            #expect(put.status == 200)
            #expect(put.string("value") == "********")
            #expect(s.app.settings.settings.sessionSignatureSecret == [UInt8](repeating: 42, count: 48))
            let filtered = try await s.request(.GET, TestServer.query("/api/v1/global_variables", q: #"{"like":{"value":"%"}}"#))
            #expect(filtered.status == 400)
        }
    }

    @Test("values are validated by their format; the raw value is kept; a change applies at once")
    func update() async throws {
        try await TestServer.with { s in
            let uuid = KnownGlobalVariable.clientConfigServiceValidityPeriod.uuid
            let bad = try await s.request(.PUT, "/api/v1/global_variables/\(uuid)", json: #"{"value":"ten minutes"}"#)
            #expect(bad.status == 400)
            #expect(bad.message.contains("\"value\""))
            #expect(bad.message.contains("invalid duration"))
            #expect(try await s.request(.GET, "/api/v1/global_variables/\(uuid)").string("value") == "10m0s")
            let negative = try await s.request(.PUT, "/api/v1/global_variables/\(uuid)", json: #"{"value":"-5m"}"#)
            #expect(negative.status == 400)
            let secret = KnownGlobalVariable.clientSessionSignatureSecret.uuid
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(secret)", json: #"{"value":"@@@"}"#).status == 400)
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(secret)", json: #"{"value":""}"#).status == 400)
            #expect(try await s.request(.PUT, "/api/v1/global_variables/\(uuid)", json: "{}").status == 400)
            #expect(try await s.request(.PUT, "/api/v1/global_variables/none", json: #"{"value":"1m"}"#).status == 404)

            let ok = try await s.request(.PUT, "/api/v1/global_variables/\(uuid)", json: #"{"value":"87600h"}"#)
            #expect(ok.status == 200)
            #expect(ok.string("value") == "87600h")
            #expect(s.app.settings.settings.serviceValidityPeriod == .seconds(87600 * 3600))
            let created = try #require(ok.string("created"))
            let updated = try #require(ok.string("updated"))
            #expect(updated > created)
        }
    }

    @Test("a change made through one replica applies in another within seconds", arguments: StoreKind.available)
    func replicas(kind: StoreKind) async throws {
        let (url, cleanup) = try await StoreFixtureURL.fresh(kind)
        try await TestServer.with(databaseURL: url) { a in
            try await TestServer.with(databaseURL: url) { b in
                let uuid = KnownGlobalVariable.clientSessionExpirationTime.uuid
                #expect(b.app.settings.settings.sessionExpiration == .seconds(60))
                #expect(try await a.request(.PUT, "/api/v1/global_variables/\(uuid)", json: #"{"value":"90s"}"#).status == 200)
                #expect(a.app.settings.settings.sessionExpiration == .seconds(90))
                let seen = try await waitUntil(timeout: .seconds(5)) { b.app.settings.settings.sessionExpiration == .seconds(90) }
                #expect(seen)
            }
        }
        try await cleanup()
    }
}
