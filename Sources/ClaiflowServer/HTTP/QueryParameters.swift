import Foundation
import Hummingbird

/// URL query parameters decoded the way Go's `url.ParseQuery` does (`+` is a space, `%XX` escapes).
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ request: Request) {
        guard let query = request.uri.query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(kv[0])
            let value = kv.count > 1 ? Self.decode(kv[1]) : ""
            if values[key] == nil { values[key] = value }
        }
    }

    private static func decode(_ s: Substring) -> String {
        let plus = s.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }

    /// The first value of a parameter, nil when absent.
    subscript(_ name: String) -> String? { values[name] }

    /// Whether the parameter is present (with any value).
    func has(_ name: String) -> Bool { values[name] != nil }
}
