import ClaiflowCore

extension RequestBody {
    /// A boolean field; nil when absent or null.
    func bool(_ key: String) throws(ClaiflowError) -> Bool? {
        guard let v = json.field(key) else { return nil }
        guard case .bool(let b) = v else { throw ClaiflowError.invalidField(key, "must be a boolean, got \(v.typeName)") }
        return b
    }

    /// A labels field: an object of strings in Kubernetes label syntax (``ClusterLabels``); nil
    /// when absent or null. A bad label is a 400 naming it, `labels["bad key"]: …`.
    func labels(_ key: String) throws(ClaiflowError) -> ClusterLabels? {
        guard let v = json.field(key) else { return nil }
        guard case .object(let members) = v else {
            throw ClaiflowError.invalidField(key, "must be an object of label keys to string values, got \(v.typeName)")
        }
        var values: [String: String] = [:]
        for (k, value) in members.sorted(by: { $0.key < $1.key }) {
            guard case .string(let s) = value else {
                var quoted = ""
                JSONValue.writeString(k, into: &quoted)
                throw ClaiflowError(.invalidArgument, "\(key)[\(quoted)]: the value must be a string, got \(value.typeName)")
            }
            values[k] = s
        }
        return try ClusterLabels(validating: values)
    }
}
