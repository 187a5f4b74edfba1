import Foundation

/// Strict standard (padded) base64, as Go's `base64.StdEncoding`.
public enum Base64 {
    /// Decodes strict padded standard base64; nil when invalid.
    public static func decode(_ s: String) -> [UInt8]? {
        guard s.utf8.count % 4 == 0, s.utf8.allSatisfy({ $0 < 128 && $0 != 10 && $0 != 13 }) else { return nil }
        guard let d = Data(base64Encoded: s) else { return nil }
        return Array(d)
    }

    /// Encodes as standard padded base64.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }
}
