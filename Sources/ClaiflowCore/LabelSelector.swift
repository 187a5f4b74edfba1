/// A Kubernetes label selector (`env=prod,tier in (web,api),!canary`): requirements that a
/// cluster's labels must all meet. Parsed by ``init(parsing:)`` with kubectl's grammar and
/// meaning:
///
/// - `k=v`, `k==v`: the label is present with value `v`; `k!=v`: absent, or another value;
/// - `k in (a,b)`: present with one of the values; `k notin (a,b)`: absent, or none of them;
/// - `k`: present; `!k`: absent;
/// - `,` joins requirements (and); blanks between tokens are ignored; an empty value is written
///   as nothing (`k=`, `k in (a,)`), and `k in ()` means `k in ("")`, as in kubectl;
/// - the empty selector matches every cluster.
public struct LabelSelector: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The longest selector text accepted.
    public static let maxLength = 4096

    /// What a requirement asks of a label.
    public enum Operator: Sendable, Equatable, Hashable {
        /// `k=v` or `k==v`.
        case equals
        /// `k!=v`.
        case notEquals
        /// `k in (…)`.
        case `in`
        /// `k notin (…)`.
        case notIn
        /// `k`.
        case exists
        /// `!k`.
        case doesNotExist
    }

    /// One requirement on one label.
    public struct Requirement: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// The label key.
        public var key: String
        /// What it asks.
        public var `operator`: Operator
        /// The values (sorted, distinct): one for `=` and `!=`, one or more for `in` and
        /// `notin`, none for `exists` and `doesNotExist`.
        public var values: [String]

        /// A requirement; `values` are sorted and made distinct.
        public init(key: String, operator: Operator, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = Array(Set(values)).sorted()
        }

        /// Whether labels meet this requirement.
        public func matches(_ labels: ClusterLabels) -> Bool {
            let value = labels[key]
            switch self.operator {
            case .equals, .in: return value.map(values.contains) ?? false
            case .notEquals, .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            }
        }

        /// The requirement in selector syntax.
        public var description: String {
            switch self.operator {
            case .equals: "\(key)=\(values.first ?? "")"
            case .notEquals: "\(key)!=\(values.first ?? "")"
            case .in: "\(key) in (\(values.joined(separator: ",")))"
            case .notIn: "\(key) notin (\(values.joined(separator: ",")))"
            case .exists: key
            case .doesNotExist: "!" + key
            }
        }
    }

    /// The requirements, in the order written; all must hold.
    public var requirements: [Requirement]

    /// A selector of requirements.
    public init(requirements: [Requirement]) { self.requirements = requirements }

    /// Parses selector text.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` starting `selector:` that names the
    ///   1-based character position of the problem, e.g. `selector: expected a value at
    ///   position 7, found '('`.
    public init(parsing text: String) throws(ClaiflowError) {
        if text.unicodeScalars.count > Self.maxLength {
            throw ClaiflowError(.invalidArgument, "selector: at most \(Self.maxLength) characters are allowed")
        }
        var parser = LabelSelectorParser(text)
        requirements = try parser.parse()
    }

    /// Whether the selector has no requirements (it matches every cluster).
    public var isEmpty: Bool { requirements.isEmpty }

    /// Whether labels meet every requirement.
    public func matches(_ labels: ClusterLabels) -> Bool { requirements.allSatisfy { $0.matches(labels) } }

    /// The selector in canonical syntax (parses back to an equal selector).
    public var description: String { requirements.map(\.description).joined(separator: ",") }
}
