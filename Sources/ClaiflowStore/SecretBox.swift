import ClaiflowCore
import Crypto
import Foundation

/// Encrypts secrets at rest (service inputs, webhook headers and signing secrets) with AES-256-GCM: a random
/// nonce per value, stored as `v1:` + base64(nonce ‖ ciphertext ‖ tag).
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    /// A box for a 32-byte key given as base64.
    public init(base64Key: String) throws(ClaiflowError) {
        guard let bytes = Base64.decode(base64Key), bytes.count == 32 else {
            throw ClaiflowError(.badRequest, "the encryption key must be 32 random bytes in standard base64")
        }
        key = SymmetricKey(data: bytes)
    }

    /// A new random key as base64.
    public static func newKey() -> String {
        Base64.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Encrypts a text.
    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw ClaiflowError(.internal, "encryption failed") }
        return "v1:" + combined.base64EncodedString()
    }

    /// Decrypts a text sealed with this key.
    public func open(_ sealed: String) throws -> String {
        guard sealed.hasPrefix("v1:"), let data = Data(base64Encoded: String(sealed.dropFirst(3))) else {
            throw ClaiflowError(.internal, "a stored secret is not in the expected format")
        }
        let plain = try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key)
        return String(decoding: plain, as: UTF8.self)
    }
}
