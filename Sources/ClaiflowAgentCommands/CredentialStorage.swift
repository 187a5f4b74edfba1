import ClaiflowCore
import ClaiflowFlow
import Crypto
import Foundation

/// Where credentials are kept: the records by key, changed in one read-modify-write step.
protocol CredentialStorage: Sendable {
    /// The storage's name in inputs and outputs: `k8s/secret` or `volume`.
    var storageName: String { get }
    /// Every stored record by key (each `{key, storage, type, data}`).
    func records() async throws -> [String: JSONValue]
    /// Reads the records, asks `change` for the new value of each changed key (nil removes it) and
    /// writes the changes, atomically with respect to other changes through this storage.
    func modify(_ change: @Sendable ([String: JSONValue]) throws -> [String: JSONValue?]) async throws
}

/// AES-256-GCM sealing of the credential file.
enum CredentialCrypto {
    /// The first bytes of a credential file.
    static let magic = Data("CLAIFLOW-CREDENTIALS-1\n".utf8)

    static func deriveKey(fromSecret secret: String) -> Data {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)),
            salt: Data("claiflow credential store".utf8),
            info: Data("AES-256-GCM file key".utf8),
            outputByteCount: 32
        )
        return key.withUnsafeBytes { Data($0) }
    }

    static func seal(_ plaintext: Data, key: SymmetricKey) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: key).combined else {
            throw FlowCommandError("cannot encrypt the credential file")
        }
        return magic + combined
    }

    static func open(_ sealed: Data, key: SymmetricKey, path: String) throws -> Data {
        guard sealed.starts(with: magic) else {
            throw FlowCommandError("\(path) is not a claiflow credential file")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst(magic.count))
            return try AES.GCM.open(box, using: key)
        } catch {
            throw FlowCommandError("cannot decrypt the credential file \(path): wrong key or damaged file")
        }
    }
}

/// All credentials in one local file, sealed with AES-256-GCM; written atomically with mode 0600.
/// Changes are serialized within the process (not across processes).
actor FileCredentialStorage: CredentialStorage {
    nonisolated let storageName = "volume"
    let path: String
    private let key: SymmetricKey

    init(path: String, key: Data) throws {
        guard key.count == 32 else {
            throw FlowCommandError("the credential file key must be 32 bytes, got \(key.count)")
        }
        self.path = path
        self.key = SymmetricKey(data: key)
    }

    func records() throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) {
                throw FlowCommandError("cannot read the credential file \(path)")
            }
            return [:]
        }
        let plaintext = try CredentialCrypto.open(data, key: key, path: path)
        guard let document = try? JSONValue.parse(plaintext), case .object(let records)? = document.field("credentials")
        else {
            throw FlowCommandError("the credential file \(path) is damaged")
        }
        return records
    }

    func modify(_ change: @Sendable ([String: JSONValue]) throws -> [String: JSONValue?]) throws {
        var current = try records()
        for (key, value) in try change(current) {
            current[key] = value
        }
        let document = JSONValue.object(["version": .integer(1), "credentials": .object(current)])
        try write(try CredentialCrypto.seal(Data(document.serialized().utf8), key: key))
    }

    private func write(_ data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FlowCommandError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw FlowCommandError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw FlowCommandError("cannot replace the credential file \(path): \(reason)")
        }
    }
}

/// All credentials in one Kubernetes Secret, one data key per credential, each value the record's
/// JSON. Changes use the Secret's resourceVersion and are retried on conflicts.
struct SecretCredentialStorage: CredentialStorage {
    let storageName = "k8s/secret"
    let client: KubernetesClient
    let namespace: String
    let name: String

    private static let secrets = KubernetesResource(name: "secrets", group: "", version: "v1", isNamespaced: true)

    private var path: String { Self.secrets.objectPath(name: name, namespace: namespace) }

    /// The Secret, or nil when it does not exist yet.
    private func secret() async throws -> JSONValue? {
        do {
            return try await client.send("GET", path)
        } catch let error as KubernetesAPIError where error.status == 404 {
            return nil
        }
    }

    private static func decode(_ secret: JSONValue?) -> [String: JSONValue] {
        guard case .object(let data)? = secret?.field("data") else { return [:] }
        var records: [String: JSONValue] = [:]
        for (key, value) in data {
            if case .string(let encoded) = value, let bytes = Data(base64Encoded: encoded),
                let record = try? JSONValue.parse(bytes)
            {
                records[key] = record
            } else {
                records[key] = .object(["key": .string(key)])
            }
        }
        return records
    }

    func records() async throws -> [String: JSONValue] {
        Self.decode(try await secret())
    }

    func modify(_ change: @Sendable ([String: JSONValue]) throws -> [String: JSONValue?]) async throws {
        for _ in 0..<5 {
            let current = try await secret()
            let changes = try change(Self.decode(current))
            if changes.isEmpty { return }
            var data: [String: JSONValue] = [:]
            for (key, value) in changes {
                data[key] = value.map { .string(Data($0.serialized().utf8).base64EncodedString()) } ?? .null
            }
            do {
                if let current {
                    var metadata: [String: JSONValue] = [:]
                    if let version = current.field("metadata")?.field("resourceVersion") {
                        metadata["resourceVersion"] = version
                    }
                    _ = try await client.send(
                        "PATCH", path, body: .object(["metadata": .object(metadata), "data": .object(data)]),
                        contentType: "application/merge-patch+json")
                } else {
                    let secret: JSONValue = .object([
                        "apiVersion": .string("v1"), "kind": .string("Secret"),
                        "metadata": .object(["name": .string(name), "namespace": .string(namespace)]),
                        "type": .string("Opaque"),
                        "data": .object(data.filter { $0.value != .null }),
                    ])
                    _ = try await client.send("POST", Self.secrets.collectionPath(namespace: namespace), body: secret)
                }
                return
            } catch let error as KubernetesAPIError where error.status == 409 {
                continue  // changed or created concurrently: read again
            }
        }
        throw FlowCommandError("Secret \(namespace)/\(name) kept changing concurrently; try again")
    }
}
