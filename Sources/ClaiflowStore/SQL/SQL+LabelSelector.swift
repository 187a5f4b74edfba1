import ClaiflowCore

extension LabelSelector {
    /// The selector as a condition on `cluster` rows, over the `cluster_label` table: each
    /// requirement is `uuid IN (…)` or `uuid NOT IN (…)` over the clusters that have the key (with
    /// one of the values), which the `(key, value, cluster_uuid)` index answers without reading
    /// other clusters' labels. `!=` and `notin` are the `NOT IN` of `=` and `in`, so they also
    /// hold for clusters without the key, as in Kubernetes. Nil for the empty selector.
    func sqlCondition() -> SQL? {
        guard !requirements.isEmpty else { return nil }
        return SQL.join(requirements.map(Self.sql), separator: " AND ")
    }

    private static func sql(_ r: Requirement) -> SQL {
        var having: SQL = "SELECT cluster_uuid FROM cluster_label WHERE key = \(bind: r.key)"
        if !r.values.isEmpty {
            having += " AND value IN (" + SQL.join(r.values.map { "\(bind: $0)" }, separator: ", ") + ")"
        }
        switch r.operator {
        case .equals, .in, .exists: return "uuid IN (\(having))"
        case .notEquals, .notIn, .doesNotExist: return "uuid NOT IN (\(having))"
        }
    }
}
