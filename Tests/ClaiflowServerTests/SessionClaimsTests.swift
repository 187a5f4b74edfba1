import ClaiflowCore
import ClaiflowServer
import Crypto
import Foundation
import Testing

@Suite("Session JWT claims")
struct SessionClaimsTests {
    static let claimKeys = [
        "cluster-uuid", "cluster-client-token-uuid", "uuid", "iat", "exp", "client-version", "client_lib_version", "cth",
    ]

    /// The payload of a JWT as a JSON object.
    static func payload(_ jwt: String) throws -> [String: Any] {
        let parts = jwt.split(separator: ".")
        var text = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        let data = try #require(Data(base64Encoded: text))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// An HS256 JWT of `payload` signed with `secret`, as the server signs.
    static func sign(_ payload: [String: Any], secret: [UInt8]) throws -> String {
        func encode(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let header = encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let body = encode(try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
        let input = header + "." + body
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + encode(Data(mac))
    }

    @Test("a JWT signed with the right key but missing any claim, or with an empty cth, is refused with 401")
    func everyClaimRequired() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let agent = try await TestAgent.connect(s, cluster: "c1", token: token)
            let claims = try Self.payload(agent.jwt)
            #expect(Set(claims.keys) == Set(Self.claimKeys))
            let secret = s.app.settings.settings.sessionSignatureSecret
            // The same claims re-signed here are accepted: the refusals below are about the claims.
            let resigned = TestAgent(server: s, jwt: try Self.sign(claims, secret: secret))
            #expect(try await resigned.poll().status == 200)
            for key in Self.claimKeys {
                var missing = claims
                missing[key] = nil
                let forged = TestAgent(server: s, jwt: try Self.sign(missing, secret: secret))
                let reply = try await forged.poll()
                #expect(reply.status == 401, "without \(key): \(reply.status) \(reply.body)")
            }
            var empty = claims
            empty["cth"] = ""
            #expect(try await TestAgent(server: s, jwt: try Self.sign(empty, secret: secret)).poll().status == 401)
        }
    }

    @Test("an agent without a client version gets a token with every claim, which works")
    func absentClientVersion() async throws {
        try await TestServer.with { s in
            let token = try await AgentAPITests.setUp(s)
            let r = try await s.request(
                .POST, "/api/v1/client/auth", json: #"{"cluster_uuid":"c1","assertion":"\#(token)"}"#, key: nil)
            let jwt = try #require(r.string("access_token"))
            let claims = try Self.payload(jwt)
            #expect(Set(claims.keys) == Set(Self.claimKeys))
            #expect(claims["client-version"] as? String == "")
            let agent = TestAgent(server: s, jwt: jwt)
            #expect(try await agent.poll().status == 200)
        }
    }
}
