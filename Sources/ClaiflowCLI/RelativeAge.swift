import Foundation

/// Ages as kubectl shows them: `45s`, `3m`, `5h`, `2d`, `3y`.
public enum RelativeAge {
    /// The age of `date` at `now` (`0s` for a date in the future).
    public static func format(_ date: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86400: return "\(seconds / 3600)h"
        case ..<(365 * 86400): return "\(seconds / 86400)d"
        default: return "\(seconds / (365 * 86400))y"
        }
    }
}
