import ClaiflowCore
import ClaiflowStore

/// Creates API keys straight in a store: the bootstrap admin key of a first start, and the keys
/// `claiflow admin create-key` makes for an operator who has database access but no key.
public enum APIKeyIssuer {
    /// The longest key name accepted (the same as the API's other names).
    static let maximumNameLength = 256

    /// Creates a key named `name` with `role`; returns the record and the key, which exists only
    /// in this answer (the store keeps its SHA-256).
    public static func issue(name: String, role: Role, in store: Store) async throws -> (APIKey, String) {
        guard !name.isEmpty else { throw ClaiflowError.invalidField("name", "must not be empty") }
        guard name.count <= maximumNameLength else {
            throw ClaiflowError.invalidField("name", "must be at most \(maximumNameLength) characters")
        }
        let (record, key) = newKey(name: name, role: role)
        try await store.insertAPIKey(record)
        return (record, key)
    }

    /// Creates the bootstrap admin key when the store holds no key at all; returns the key when
    /// this call created it (its transaction committed), nil otherwise. Of several replicas
    /// starting at once, exactly one gets the key.
    public static func issueFirst(in store: Store) async throws -> String? {
        let (record, key) = newKey(name: "bootstrap admin", role: .admin)
        return try await store.insertFirstAPIKey(record) ? key : nil
    }

    static func newKey(name: String, role: Role) -> (APIKey, String) {
        let key = Secrets.newAPIKey()
        let record = APIKey(
            uuid: Identifier.generate(), name: name, role: role, keyHash: Secrets.sha256Hex(key), prefix: String(key.prefix(12)),
            created: .now())
        return (record, key)
    }
}
