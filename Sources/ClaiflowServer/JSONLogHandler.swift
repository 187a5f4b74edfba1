import ClaiflowCore
import Foundation
import Logging

/// Writes one JSON object per log line to standard error:
/// `{"ts":"…","level":"info","logger":"claiflow","msg":"…", …metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\"\(Timestamp.now().rfc3339)\",\"level\":\"\(event.level.rawValue)\",\"logger\":"
        JSONValue.writeString(label, into: &line)
        line += ",\"msg\":"
        JSONValue.writeString(event.message.description, into: &line)
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        for key in all.keys.sorted() {
            line += ","
            JSONValue.writeString(key, into: &line)
            line += ":"
            JSONValue.writeString(Self.render(all[key] ?? ""), into: &line)
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func render(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): "[" + a.map(render).joined(separator: ", ") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { "\($0): \(render(d[$0] ?? ""))" }.joined(separator: ", ") + "}"
        }
    }
}
