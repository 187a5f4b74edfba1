import ClaiflowCore

extension SQL.StringInterpolation {
    /// Binds a service status (its number) as a parameter, so that no SQL text spells a status.
    public mutating func appendInterpolation(bind status: ServiceStatus) {
        appendInterpolation(bind: status.rawValue)
    }

    /// Binds service statuses as a comma-separated list of parameters, for `status IN (…)`; an
    /// empty list becomes `NULL`, which matches nothing.
    public mutating func appendInterpolation(bind statuses: [ServiceStatus]) {
        guard !statuses.isEmpty else {
            appendLiteral("NULL")
            return
        }
        for (i, status) in statuses.enumerated() {
            if i > 0 { appendLiteral(", ") }
            appendInterpolation(bind: status)
        }
    }
}
