/// A run's inputs per cluster: a string value `$cluster.uuid`, `$cluster.name` or
/// `$cluster.labels.KEY` (anywhere in the inputs, whole string only) is replaced by that
/// cluster's value.
public enum RunInputs {
    /// Whether the inputs hold a reference (when not, every cluster gets the same inputs).
    public static func hasReferences(_ inputs: JSONValue) -> Bool {
        switch inputs {
        case .string(let s): return s.hasPrefix("$cluster.")
        case .array(let items): return items.contains(where: hasReferences)
        case .object(let members): return members.values.contains(where: hasReferences)
        case .null, .bool, .integer, .number: return false
        }
    }

    /// The inputs for one cluster. Throws a message naming the reference when the cluster has
    /// no such label, or the reference is not one of the three forms.
    public static func resolve(
        _ inputs: JSONValue, uuid: String, name: String, labels: ClusterLabels
    ) throws(ClaiflowError) -> JSONValue {
        switch inputs {
        case .string(let s):
            guard s.hasPrefix("$cluster.") else { return inputs }
            if s == "$cluster.uuid" { return .string(uuid) }
            if s == "$cluster.name" { return .string(name) }
            let prefix = "$cluster.labels."
            guard s.hasPrefix(prefix), s.count > prefix.count else {
                throw ClaiflowError(
                    .invalidArgument,
                    "\"\(s)\" is not a cluster reference: use $cluster.uuid, $cluster.name or $cluster.labels.KEY")
            }
            let key = String(s.dropFirst(prefix.count))
            guard let value = labels[key] else { throw ClaiflowError(.invalidArgument, "it has no label \"\(key)\"") }
            return .string(value)
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try resolve(item, uuid: uuid, name: name, labels: labels)) }
            return .array(out)
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (k, v) in members { out[k] = try resolve(v, uuid: uuid, name: name, labels: labels) }
            return .object(out)
        case .null, .bool, .integer, .number:
            return inputs
        }
    }
}
