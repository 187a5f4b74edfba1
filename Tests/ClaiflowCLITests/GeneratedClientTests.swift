import Crypto
import Foundation
import Testing

/// The committed API client matches the OpenAPI document the server serves.
@Suite("Generated API client")
struct GeneratedClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("was generated from the current openapi.yaml")
    func generatedFromCurrentDocument() throws {
        let document = try Data(
            contentsOf: Self.root.appendingPathComponent("Sources/ClaiflowServer/Resources/openapi.yaml"))
        let hash = SHA256.hash(data: document).map { String(format: "%02x", $0) }.joined()
        let recorded = try String(
            contentsOf: Self.root.appendingPathComponent("Sources/ClaiflowAPIClient/Generated/openapi.yaml.sha256"),
            encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            recorded == hash,
            "Sources/ClaiflowAPIClient/Generated is older than openapi.yaml: run scripts/generate-openapi-client.sh")
    }
}
