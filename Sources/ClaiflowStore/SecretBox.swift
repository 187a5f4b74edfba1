import ClaiflowCore
import Crypto
import Foundation

/// Encrypts secrets at rest (service inputs, webhook headers and signing secrets) with AES-256-GCM: a random
/// nonce per value, stored as `v1:` + base64(nonce ‖ ciphertext ‖ tag).
///
/// During a key rotation it also holds the previous keys: values sealed with one of them still
/// open, and ``resealed(_:)`` moves them to the current key.
public struct SecretBox: Sendable {
    private let key: SymmetricKey
    private let previous: [SymmetricKey]

    /// A box for a 32-byte key given as base64, which also opens values sealed with `previousKeys`.
    public init(base64Key: String, previousKeys: [String] = []) throws(ClaiflowError) {
        func decode(_ text: String) throws(ClaiflowError) -> SymmetricKey {
            guard let bytes = Base64.decode(text), bytes.count == 32 else {
                throw ClaiflowError(.invalidArgument, "the encryption key must be 32 random bytes in standard base64")
            }
            return SymmetricKey(data: bytes)
        }
        key = try decode(base64Key)
        var keys: [SymmetricKey] = []
        for k in previousKeys { keys.append(try decode(k)) }
        previous = keys
    }

    /// Whether previous keys are configured (a rotation is under way).
    public var isRotating: Bool { !previous.isEmpty }

    /// A value sealed with a previous key, sealed again with the current one; nil when it is
    /// already under the current key (or is not a sealed value).
    public func resealed(_ sealed: String) throws -> String? {
        guard let data = Self.combined(sealed) else { return nil }
        if (try? AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key)) != nil { return nil }
        return try seal(try open(sealed))
    }

    private static func combined(_ sealed: String) -> Data? {
        guard sealed.hasPrefix("v1:") else { return nil }
        return Data(base64Encoded: String(sealed.dropFirst(3)))
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

    /// Decrypts a text sealed with this key (or one of the previous keys).
    public func open(_ sealed: String) throws -> String {
        guard let data = Self.combined(sealed) else {
            throw ClaiflowError(.internal, "a stored secret is not in the expected format")
        }
        let box = try AES.GCM.SealedBox(combined: data)
        for k in [key] + previous {
            if let plain = try? AES.GCM.open(box, using: k) { return String(decoding: plain, as: UTF8.self) }
        }
        throw ClaiflowError(
            .internal, "a stored secret does not open with the encryption key (changed without --previous-encryption-keys?)")
    }
}
