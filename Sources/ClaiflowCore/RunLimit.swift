/// A limit of a run's strategy: a number of clusters, or a percentage of the run's started
/// clusters (those not skipped), resolved once when the run is created.
public enum RunLimit: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// Reads `N` (an integer ≥ `minimum`) or `"N%"` (0–100) from a request; errors name `field`.
    public init(json: JSONValue, field: String, minimum: Int) throws(ClaiflowError) {
        switch json {
        case .integer(let n):
            guard n >= minimum, n <= 1_000_000 else {
                throw ClaiflowError.invalidField(field, "must be at least \(minimum), got \(n)")
            }
            self = .count(Int(n))
        case .string(let s):
            guard s.hasSuffix("%"), let n = Int(s.dropLast()), s.count > 1, s.first != "+", s.first != "-" else {
                throw ClaiflowError.invalidField(field, "must be an integer or a percentage like \"25%\", got \"\(s)\"")
            }
            guard n <= 100, n >= (minimum > 0 ? 1 : 0) else {
                throw ClaiflowError.invalidField(
                    field, "a percentage must be between \(minimum > 0 ? 1 : 0)% and 100%, got \"\(s)\"")
            }
            self = .percent(n)
        default:
            throw ClaiflowError.invalidField(
                field, "must be an integer or a percentage like \"25%\", got \(json.typeName)")
        }
    }

    /// The number of clusters it allows out of `total`: a percentage is rounded up when
    /// `roundingUp` (`max_parallel`: at least one cluster at a time), down otherwise
    /// (`max_failures`: "more than 10 %" of 15 clusters is more than 1).
    public func resolve(total: Int, roundingUp: Bool) -> Int {
        switch self {
        case .count(let n): return n
        case .percent(let p):
            let scaled = total * p
            return roundingUp ? max(1, (scaled + 99) / 100) : scaled / 100
        }
    }

    /// As the request gave it: an integer or `"N%"`.
    public var json: JSONValue {
        switch self {
        case .count(let n): .integer(Int64(n))
        case .percent(let p): .string("\(p)%")
        }
    }

    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): "\(p)%"
        }
    }
}
