import ClaiflowAgentCommands
import ClaiflowCore
import Foundation
import Testing

private let grafana = JSONValue.object(["type": .string("grafana"), "data": .string("glsa_secret_token_123")])
private let openstack = JSONValue.object([
    "type": .string("openstack"), "storage": .string("volume"),
    "data": .object(["username": .string("admin"), "password": .string("hunter2-password")]),
])

@Suite("credential commands")
struct CredentialCommandTests {
    @Test("file storage: add, get, update, remove round trip")
    func fileRoundTrip() async throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("nested/credentials.enc").path
        let key = CredentialStoreConfiguration.fileKey(fromSecret: "agent passphrase")
        #expect(key.count == 32)
        let catalog = try makeCatalog(credentialStore: .file(path: path, key: key))

        #expect(try await call(catalog, "claiflow.credential.get", nil) == .array([]))
        let added = try await call(
            catalog, "claiflow.credential.add",
            .object(["credentials": .object(["grafana-main": grafana, "os.admin": openstack])]))
        #expect(
            added
                == .array([
                    .object(["key": .string("grafana-main"), "storage": .string("volume")]),
                    .object(["key": .string("os.admin"), "storage": .string("volume")]),
                ]))
        #expect(try await call(catalog, "claiflow.credential.get", .object([:])) == added)

        // The file is sealed: none of the secrets appear, and it is private to the agent's user.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let text = String(decoding: bytes, as: UTF8.self)
        for secret in ["glsa_secret_token_123", "hunter2-password", "grafana-main", "openstack"] {
            #expect(!text.contains(secret))
        }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        #expect(
            await failure(catalog, "claiflow.credential.add", .object(["credentials": .object(["grafana-main": grafana])]))
                == "credential \"grafana-main\" already exists")
        let updated = try await call(
            catalog, "claiflow.credential.update",
            .object(["credentials": .object(["grafana-main": .object(["type": .string("grafana"), "data": .string("new")])])]))
        #expect(updated == .array([.object(["key": .string("grafana-main"), "storage": .string("volume")])]))
        #expect(
            await failure(catalog, "claiflow.credential.update", .object(["credentials": .object(["nope": grafana])]))
                == "credential \"nope\" does not exist")

        // The original's names work too.
        let removeInputs = JSONValue.object(["credential_keys": .array([.object(["key": .string("os.admin")])])])
        #expect(try await call(catalog, "credstor.credential.remove", removeInputs) == removeInputs.field("credential_keys"))
        #expect(
            try await call(catalog, "claiflow.credential.get", nil)
                == .array([.object(["key": .string("grafana-main"), "storage": .string("volume")])]))
        #expect(await failure(catalog, "claiflow.credential.remove", removeInputs) == "credential \"os.admin\" does not exist")

        // Another catalog with the same key reads the same file; a wrong key fails clearly.
        let again = try makeCatalog(credentialStore: .file(path: path, key: key))
        #expect(
            try await call(again, "claiflow.credential.get", nil)
                == .array([.object(["key": .string("grafana-main"), "storage": .string("volume")])]))
        let wrong = try makeCatalog(
            credentialStore: .file(path: path, key: CredentialStoreConfiguration.fileKey(fromSecret: "other")))
        #expect(
            await failure(wrong, "claiflow.credential.get", nil)
                == "cannot decrypt the credential file \(path): wrong key or damaged file")
        #expect(
            await failure(wrong, "claiflow.credential.add", .object(["credentials": .object(["x": grafana])]))
                == "cannot decrypt the credential file \(path): wrong key or damaged file")
    }

    @Test("inputs are checked: keys, storage, type and data")
    func inputs() async throws {
        let directory = try temporaryDirectory()
        let catalog = try makeCatalog(
            credentialStore: .file(path: directory.appendingPathComponent("c").path, key: Data(repeating: 7, count: 32)))
        #expect(
            await failure(catalog, "claiflow.credential.add", .object(["credentials": .object(["../etc/passwd": grafana])]))
                == "credential key \"../etc/passwd\" is not valid: use letters, digits, '-', '_' and '.' (at most 253)")
        #expect(
            await failure(
                catalog, "claiflow.credential.add",
                .object([
                    "credentials": .object([
                        "a": .object(["type": .string("grafana"), "data": .string("x"), "storage": .string("k8s/secret")])
                    ])
                ]))
                == "credential \"a\": storage \"k8s/secret\" is not available; this agent keeps credentials in \"volume\"")
        #expect(
            await failure(
                catalog, "claiflow.credential.add", .object(["credentials": .object(["a": .object(["data": .string("x")])])]))
                == "credential \"a\": \"type\" is required (a string)")
        #expect(
            await failure(
                catalog, "claiflow.credential.add", .object(["credentials": .object(["a": .object(["type": .string("ncp")])])]))
                == "credential \"a\": \"data\" is required")
        #expect(
            await failure(catalog, "claiflow.credential.add", .object([:]))
                == "\"credentials\" is required: an object of key → {type, data, storage?}")
        #expect(
            await failure(catalog, "claiflow.credential.remove", .object([:]))
                == "\"credential_keys\" is required: an array of {key, storage?}")
        #expect(throws: (any Error).self) {
            try CommandCatalog.builtin(
                CommandConfiguration(httpClient: testHTTPClient, credentialStore: .file(path: "/tmp/x", key: Data([1, 2]))))
        }
        let disabled = try makeCatalog()
        #expect(await failure(disabled, "claiflow.credential.get", nil) == "no credential storage configured")
        let noKubernetes = try makeCatalog(credentialStore: .kubernetesSecret(namespace: "claiflow"))
        #expect(
            await failure(noKubernetes, "claiflow.credential.get", nil)
                == "no Kubernetes access configured for the k8s/secret credential storage")
    }

    @Test("Secret storage: the claiflow-credential Secret in the agent's namespace")
    func secretStorage() async throws {
        try await withFakeKubernetes(credentialStore: .kubernetesSecret(namespace: "claiflow")) { fake, catalog, _ in
            let secrets = try fakeResource("secrets")
            #expect(try await call(catalog, "claiflow.credential.get", nil) == .array([]))
            let added = try await call(
                catalog, "claiflow.credential.add", .object(["credentials": .object(["grafana": grafana])]))
            #expect(added == .array([.object(["key": .string("grafana"), "storage": .string("k8s/secret")])]))
            let created = try #require(await fake.object(secrets, namespace: "claiflow", name: "claiflow-credential"))
            #expect(created.field("type") == .string("Opaque"))
            guard case .string(let encoded)? = created.field("data")?.field("grafana"),
                let decoded = Data(base64Encoded: encoded)
            else {
                Issue.record("no data key grafana in \(created.serialized())")
                return
            }
            let record = try JSONValue.parse(decoded)
            #expect(record.field("type") == .string("grafana"))
            #expect(record.field("storage") == .string("k8s/secret"))
            #expect(record.field("data") == .string("glsa_secret_token_123"))

            // The second add patches the existing Secret.
            _ = try await call(
                catalog, "claiflow.credential.add",
                .object([
                    "credentials": .object(["ncp": .object(["type": .string("ncp"), "data": .object(["k": .string("v")])])])
                ]))
            #expect(await fake.requests.last?.method == "PATCH")
            #expect(await fake.requests.last?.contentType == "application/merge-patch+json")
            #expect(
                try await call(catalog, "claiflow.credential.get", nil)
                    == .array([
                        .object(["key": .string("grafana"), "storage": .string("k8s/secret")]),
                        .object(["key": .string("ncp"), "storage": .string("k8s/secret")]),
                    ]))
            _ = try await call(
                catalog, "claiflow.credential.remove",
                .object(["credential_keys": .array([.object(["key": .string("grafana")])])]))
            let after = try #require(await fake.object(secrets, namespace: "claiflow", name: "claiflow-credential"))
            #expect(after.field("data")?.field("grafana") == nil)
            #expect(after.field("data")?.field("ncp") != nil)
            #expect(
                await failure(catalog, "claiflow.credential.add", .object(["credentials": .object(["x": openstack])]))
                    == "credential \"x\": storage \"volume\" is not available; this agent keeps credentials in \"k8s/secret\"")
        }
    }
}
