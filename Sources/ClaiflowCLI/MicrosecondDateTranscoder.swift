import ClaiflowCore
import Foundation
import OpenAPIRuntime

/// Reads and writes the API's timestamps (RFC 3339, six fractional digits) without losing the
/// microseconds, which the runtime's ISO 8601 transcoders round to milliseconds.
public struct MicrosecondDateTranscoder: DateTranscoder {
    /// Creates the transcoder.
    public init() {}

    public func encode(_ date: Date) throws -> String { Timestamp(date).rfc3339 }

    public func decode(_ string: String) throws -> Date {
        guard let timestamp = Timestamp(parsing: string) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an RFC 3339 time: \(string)"))
        }
        return timestamp.date
    }
}
