import ClaiflowCore

/// Web console sign-ins (``ConsoleSession``), found by the SHA-256 of their token.
extension Store {
    static func consoleSession(_ r: SQLRow) throws -> ConsoleSession {
        guard let role = Role(rawValue: try r.text("role")) else { throw StoreError.corrupt("unknown role in console_session") }
        return ConsoleSession(
            tokenHash: try r.text("token_hash"), keyUUID: try r.text("key_uuid"), keyName: try r.text("key_name"), role: role,
            csrfToken: try r.text("csrf_token"), created: try r.timestamp("created"), expires: try r.timestamp("expires"))
    }

    /// Stores a new session, and deletes the sessions that expired before `now` (sign-ins are
    /// rare, so they clean up after themselves).
    public func insertConsoleSession(_ s: ConsoleSession, now: Timestamp) async throws {
        try await write("console_session.insert") { db in
            try await db.execute("DELETE FROM console_session WHERE expires < \(bind: .timestamp(now))")
            try await db.execute(
                """
                INSERT INTO console_session (token_hash, key_uuid, key_name, role, csrf_token, created, expires)
                VALUES (\(bind: s.tokenHash), \(bind: s.keyUUID), \(bind: s.keyName), \(bind: s.role.rawValue),
                    \(bind: s.csrfToken), \(bind: .timestamp(s.created)), \(bind: .timestamp(s.expires)))
                """)
        }
    }

    /// The unexpired session of a token hash whose API key still exists (with the key's role
    /// now); the configured admin token's sessions (`key_uuid` `config`) need no stored key.
    public func consoleSession(tokenHash: String, now: Timestamp) async throws -> ConsoleSession? {
        try await read("console_session.get") { db in
            guard
                let row = try await db.first(
                    """
                    SELECT s.*, k.role AS key_role FROM console_session s LEFT JOIN api_key k ON k.uuid = s.key_uuid
                    WHERE s.token_hash = \(bind: tokenHash) AND s.expires > \(bind: .timestamp(now))
                    """)
            else { return nil }
            var session = try Self.consoleSession(row)
            if let current = row.optionalText("key_role") {
                guard let role = Role(rawValue: current) else { return nil }
                session.role = role
            } else if session.keyUUID != "config" {
                return nil
            }
            return session
        }
    }

    /// Deletes a session (sign-out); returns whether it existed.
    @discardableResult
    public func deleteConsoleSession(tokenHash: String) async throws -> Bool {
        try await write("console_session.delete", statement: "DELETE FROM console_session WHERE token_hash = \(bind: tokenHash)")
            > 0
    }
}
