import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body: the fields of a console form.
struct FormData: Sendable {
    /// The fields in order (a name may repeat).
    var fields: [(String, String)]

    /// The first value of a field.
    subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// Parses a form body (`+` is a space, `%XX` a byte).
    init(_ text: String) {
        fields = text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// Reads a form body of at most 1 MiB.
    static func read(_ request: Request, context: AppRequestContext) async throws -> FormData {
        var request = request
        let buffer = try await request.collectBody(upTo: HTTPLimits.maxBodySize)
        return FormData(String(buffer: buffer))
    }
}
