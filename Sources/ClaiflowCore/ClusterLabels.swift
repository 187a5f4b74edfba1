/// A cluster's labels: at most ``maxCount`` key → value pairs in Kubernetes label syntax
/// (``LabelSyntax``), which label selectors (``LabelSelector``) choose clusters by.
public struct ClusterLabels: Sendable, Equatable, Hashable {
    /// The most labels a cluster may have.
    public static let maxCount = 64

    /// The labels by key.
    public private(set) var values: [String: String]

    /// No labels.
    public init() { values = [:] }

    /// Labels checked against the syntax and the count limit.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` naming the first bad label (in key order)
    ///   as `labels["key"]: reason`.
    public init(validating values: [String: String]) throws(ClaiflowError) {
        if values.count > Self.maxCount {
            throw ClaiflowError(
                .invalidArgument, "labels: at most \(Self.maxCount) labels are allowed, got \(values.count)")
        }
        for key in values.keys.sorted() {
            if let problem = LabelSyntax.keyProblem(key) { throw Self.error(key, "invalid key: " + problem) }
            if let problem = LabelSyntax.valueProblem(values[key] ?? "") {
                throw Self.error(key, "invalid value \(Self.quoted(values[key] ?? "")): " + problem)
            }
        }
        self.values = values
    }

    /// Labels from a JSON object text the store wrote (``json``); not checked again.
    ///
    /// - Throws: ``ClaiflowError`` when the text is not a JSON object of strings.
    public init(json: String) throws(ClaiflowError) {
        guard case .object(let members) = try JSONValue.parse(json) else {
            throw ClaiflowError(.internal, "stored cluster labels are not a JSON object")
        }
        var values: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let s) = value else {
                throw ClaiflowError(.internal, "stored cluster label \(Self.quoted(key)) is not a string")
            }
            values[key] = s
        }
        self.values = values
    }

    /// The value of a label, or nil when the cluster does not have it.
    public subscript(key: String) -> String? { values[key] }

    /// Whether there are no labels.
    public var isEmpty: Bool { values.isEmpty }

    /// How many labels there are.
    public var count: Int { values.count }

    /// The labels as a compact JSON object with sorted keys (`{}` when none).
    public var json: String { JSONValue.object(values.mapValues { .string($0) }).serialized() }

    private static func error(_ key: String, _ reason: String) -> ClaiflowError {
        ClaiflowError(.invalidArgument, "labels[\(quoted(key))]: \(reason)")
    }

    private static func quoted(_ s: String) -> String {
        var out = ""
        JSONValue.writeString(s, into: &out)
        return out
    }
}
