import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import ClaiflowServer

/// The query decoding gave up Foundation for speed; each case is compared with what Foundation's
/// `removingPercentEncoding` (after `+` → space) gave, falling back to the raw text.
@Suite("Query parameters")
struct QueryParametersTests {
    static func foundationDecode(_ s: String) -> String {
        let plus = s.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }

    static let values = [
        "plain", "a+b", "%7B%22like%22%3A%7B%22name%22%3A%22list-1%25%22%7D%7D", "%7b%7d", "100%", "%zz", "%4", "%%41",
        "%C3%A9t%C3%A9", "%FF%FE", "%C3", "%00", "é+%2B", "", "a%2", "+%20+",
    ]

    @Test("values decode as Foundation decoded them", arguments: values)
    func decode(value: String) {
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "x", path: "/p?k=\(value)&k=second&x\(value)"),
            body: .init(buffer: ByteBuffer()))
        let params = QueryParameters(request)
        #expect(params["k"] == Self.foundationDecode(value))
        #expect(params.has("x" + Self.foundationDecode(value)))
    }

    @Test("pairs: the first of a repeated key, empty pairs skipped, a key without `=`")
    func pairs() {
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "x", path: "/p?&a=1&&a=2&pretty&b=x=y"),
            body: .init(buffer: ByteBuffer()))
        let params = QueryParameters(request)
        #expect(params["a"] == "1")
        #expect(params["pretty"] == "")
        #expect(params.has("pretty"))
        #expect(params["b"] == "x=y")
        #expect(!params.has("c"))
    }
}
