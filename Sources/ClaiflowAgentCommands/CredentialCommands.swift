import ClaiflowCore
import ClaiflowFlow

/// The `claiflow.credential.*` commands (also registered under the original agent's
/// `credstor.credential.*` names). No command returns credential data.
enum CredentialCommands {
    static let verbs = ["add", "get", "update", "remove"]

    static func register(into catalog: inout CommandCatalog, storage: Result<any CredentialStorage, FlowCommandError>) {
        for verb in verbs {
            let command: FlowCommand = { call in
                let storage = try storage.get()
                let inputs = try CommandInputs(call)
                switch verb {
                case "add": return try await put(inputs, storage, mustExist: false)
                case "update": return try await put(inputs, storage, mustExist: true)
                case "remove": return try await remove(inputs, storage)
                default: return try await list(storage)
                }
            }
            catalog.register("claiflow.credential.\(verb)", command)
            catalog.register("credstor.credential.\(verb)", command)
        }
    }

    /// Credential keys become Secret data keys and must be valid ConfigMap keys.
    static func checkKey(_ key: String) throws {
        let valid =
            !key.isEmpty && key.utf8.count <= 253 && key != "." && key != ".."
            && key.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
                default: false
                }
            }
        guard valid else {
            throw FlowCommandError(
                "credential key \(CommandInputs.quote(key)) is not valid: use letters, digits, '-', '_' and '.' (at most 253)")
        }
    }

    /// The storage an input item names must be the configured one.
    static func checkStorage(_ item: JSONValue, key: String, _ storage: any CredentialStorage) throws {
        switch item.field("storage") {
        case nil: return
        case .string(let name)? where name.isEmpty || name == storage.storageName: return
        case .string(let name)?:
            throw FlowCommandError(
                "credential \(CommandInputs.quote(key)): storage \(CommandInputs.quote(name)) is not available; this agent keeps credentials in \(CommandInputs.quote(storage.storageName))"
            )
        case let other?:
            throw FlowCommandError("credential \(CommandInputs.quote(key)): \"storage\" must be a string, got \(other.typeName)")
        }
    }

    static func entry(_ key: String, _ storage: any CredentialStorage) -> JSONValue {
        .object(["key": .string(key), "storage": .string(storage.storageName)])
    }

    /// add (keys must be new) and update (keys must exist).
    static func put(_ inputs: CommandInputs, _ storage: any CredentialStorage, mustExist: Bool) async throws -> JSONValue {
        guard let credentials = try inputs.object("credentials"), !credentials.isEmpty else {
            throw FlowCommandError("\"credentials\" is required: an object of key → {type, data, storage?}")
        }
        var records: [String: JSONValue] = [:]
        for (key, item) in credentials {
            try checkKey(key)
            guard case .object = item else {
                throw FlowCommandError("credential \(CommandInputs.quote(key)) must be an object, got \(item.typeName)")
            }
            try checkStorage(item, key: key, storage)
            guard case .string(let type)? = item.field("type"), !type.isEmpty else {
                throw FlowCommandError("credential \(CommandInputs.quote(key)): \"type\" is required (a string)")
            }
            guard let data = item.field("data") else {
                throw FlowCommandError("credential \(CommandInputs.quote(key)): \"data\" is required")
            }
            records[key] = .object([
                "key": .string(key), "storage": .string(storage.storageName), "type": .string(type), "data": data,
            ])
        }
        let newRecords = records
        try await storage.modify { current in
            for key in newRecords.keys.sorted() {
                if mustExist, current[key] == nil {
                    throw FlowCommandError("credential \(CommandInputs.quote(key)) does not exist")
                }
                if !mustExist, current[key] != nil {
                    throw FlowCommandError("credential \(CommandInputs.quote(key)) already exists")
                }
            }
            return newRecords.mapValues { Optional($0) }
        }
        return .array(records.keys.sorted().map { entry($0, storage) })
    }

    static func remove(_ inputs: CommandInputs, _ storage: any CredentialStorage) async throws -> JSONValue {
        guard let items = try inputs.array("credential_keys") else {
            throw FlowCommandError("\"credential_keys\" is required: an array of {key, storage?}")
        }
        var keys: [String] = []
        for item in items {
            guard case .string(let key)? = item.field("key") else {
                throw FlowCommandError("\"credential_keys\": every item needs a \"key\" string")
            }
            try checkKey(key)
            try checkStorage(item, key: key, storage)
            keys.append(key)
        }
        let removed = keys
        try await storage.modify { current in
            for key in removed where current[key] == nil {
                throw FlowCommandError("credential \(CommandInputs.quote(key)) does not exist")
            }
            return Dictionary(removed.map { ($0, JSONValue?.none) }, uniquingKeysWith: { first, _ in first })
        }
        return .array(items)
    }

    static func list(_ storage: any CredentialStorage) async throws -> JSONValue {
        let records = try await storage.records()
        return .array(records.keys.sorted().map { entry($0, storage) })
    }
}
