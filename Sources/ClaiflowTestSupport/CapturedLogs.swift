import Logging
import Synchronization

/// Log records kept in memory, for tests that check what a component logs. `logger(label:)`
/// gives a logger whose records land here (every level, from trace up).
public final class CapturedLogs: Sendable {
    /// One log record.
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    private let storage = Mutex<[Record]>([])

    public init() {}

    /// The records so far, oldest first.
    public var records: [Record] { storage.withLock { $0 } }

    /// A logger writing to these records.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(logs: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ record: Record) { storage.withLock { $0.append(record) } }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let extra = event.metadata { all.merge(extra) { $1 } }
            logs.append(Record(level: event.level, message: event.message.description, metadata: all))
        }
    }
}
