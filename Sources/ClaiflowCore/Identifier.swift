import Foundation

/// Identifiers of entities: generated ones are 32 lowercase hex characters (a v4 UUID without
/// dashes); client-supplied ones are 1–32 characters of `[A-Za-z0-9_-]`.
public enum Identifier {
    /// The longest identifier accepted.
    public static let maxLength = 32

    /// A new random identifier: a v4 UUID in lowercase hex without dashes.
    public static func generate() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return Hex.encode(bytes)
    }

    /// Whether a client-supplied identifier is acceptable.
    public static func isValid(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxLength else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95
        }
    }

    /// Validates a client-supplied identifier for a field, or throws a 400 naming it.
    public static func validate(_ s: String, field: String) throws(ClaiflowError) {
        guard isValid(s) else {
            throw ClaiflowError.invalidField(field, "must be 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'")
        }
    }
}
