/// One of the five fields of a cron expression: the set of values it matches, and whether it
/// was written starting with `*` (which matters for the day fields, see ``CronSchedule``).
public struct CronField: Sendable, Hashable {
    /// Which field this is: its position, name and range.
    public struct Kind: Sendable, Hashable {
        /// 1-based position in the expression.
        public let position: Int
        /// `minute`, `hour`, `day-of-month`, `month` or `day-of-week`.
        public let name: String
        public let minimum: Int
        public let maximum: Int
        /// Names accepted for values (`JAN`…`DEC`, `SUN`…`SAT`), case-insensitively, starting at `minimum` or 0.
        let names: [String]
        let namesStart: Int

        public static let minute = Kind(position: 1, name: "minute", minimum: 0, maximum: 59, names: [], namesStart: 0)
        public static let hour = Kind(position: 2, name: "hour", minimum: 0, maximum: 23, names: [], namesStart: 0)
        public static let dayOfMonth = Kind(
            position: 3, name: "day-of-month", minimum: 1, maximum: 31, names: [], namesStart: 0)
        public static let month = Kind(
            position: 4, name: "month", minimum: 1, maximum: 12,
            names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], namesStart: 1)
        /// 0–7, both 0 and 7 meaning Sunday.
        public static let dayOfWeek = Kind(
            position: 5, name: "day-of-week", minimum: 0, maximum: 7,
            names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], namesStart: 0)

        /// The five kinds in expression order.
        public static let all = [minute, hour, dayOfMonth, month, dayOfWeek]
    }

    /// Bit `v` is set when the field matches value `v`.
    public let bits: UInt64
    /// The field was written starting with `*` (`*`, `*/5`).
    public let isStar: Bool

    /// Whether the field matches `value`.
    public func matches(_ value: Int) -> Bool { bits & (1 << UInt64(value)) != 0 }

    /// Parses one field: a comma-separated list of `*`, `N`, `N-M`, each optionally with `/STEP`
    /// (`N/STEP` meaning `N-max/STEP`); names where the field has them.
    public init(parsing text: String, kind: Kind) throws(ClaiflowError) {
        func fail(_ reason: String) -> ClaiflowError {
            ClaiflowError(.invalidArgument, "cron: field \(kind.position) (\(kind.name)): \(reason)")
        }
        func value(_ s: Substring) throws(ClaiflowError) -> Int {
            if let i = kind.names.firstIndex(of: s.uppercased()) { return i + kind.namesStart }
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(s) else {
                let hint = kind.names.isEmpty ? "" : " or a name (\(kind.names[0])…\(kind.names[kind.names.count - 1]))"
                throw fail("\"\(s)\" is not a number\(hint)")
            }
            guard n >= kind.minimum, n <= kind.maximum else {
                throw fail("\(n) is out of range \(kind.minimum)-\(kind.maximum)")
            }
            return n
        }
        guard !text.isEmpty else { throw fail("is empty") }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("empty item in \"\(text)\"") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw fail("\"\(item)\" has more than one '/'") }
            var step = 1
            if parts.count == 2 {
                guard let s = Int(parts[1]), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw fail("step \"\(parts[1])\" in \"\(item)\" is not a number")
                }
                guard s >= 1, s <= kind.maximum else {
                    throw fail("step \(s) in \"\(item)\" is out of range 1-\(kind.maximum)")
                }
                step = s
            }
            let range = parts[0]
            var low: Int
            var high: Int
            if range == "*" {
                (low, high) = (kind.minimum, kind.maximum)
            } else {
                let ends = range.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw fail("\"\(range)\" is not a value or a range N-M") }
                low = try value(ends[0])
                if ends.count == 2 {
                    high = try value(ends[1])
                    guard low <= high else { throw fail("range \(range) runs backwards") }
                } else {
                    high = parts.count == 2 ? kind.maximum : low
                }
            }
            for v in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(v) }
        }
        if kind == .dayOfWeek, bits & (1 << 7) != 0 { bits = (bits & ~(1 << 7)) | 1 }
        self.bits = bits
        self.isStar = text.hasPrefix("*")
    }
}
