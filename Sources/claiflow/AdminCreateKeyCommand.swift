import ArgumentParser
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Foundation
import Logging

/// `claiflow admin create-key`: creates an API key straight in the database and prints it once.
struct AdminCreateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-key",
        abstract: "Create an API key in the database and print it once.",
        discussion: """
            For an operator who has access to the database but no admin key (the bootstrap key was \
            lost, or the last admin key deleted). The key is printed alone on standard output, so \
            `KEY=$(claiflow admin create-key --database …)` keeps it; it is not stored, only its \
            SHA-256. The schema is migrated first, so a key can also be created before the first \
            server start (no bootstrap key is generated then). Servers on the database accept the \
            key at once.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The server's database: sqlite:PATH or postgres://user:password@host:port/database (default: $\(ServerSetting.database.environmentName)).",
            valueName: "url"))
    var database: String?

    @Option(help: "The key's name, shown in the key list.")
    var name = "admin (claiflow admin create-key)"

    @Option(help: "The key's role: viewer, operator or admin.")
    var role = "admin"

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = database ?? env[ServerSetting.database.environmentName].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("--database is required (or set \(ServerSetting.database.environmentName))")
        }
        guard let role = Role(rawValue: role.lowercased()) else {
            throw ValidationError("--role must be viewer, operator or admin, got \"\(role)\"")
        }
        var logger = Logger(label: "claiflow")
        logger.logLevel = .warning
        let store: Store
        do {
            store = try Store.open(url: url, logger: logger)
        } catch {
            throw ValidationError("cannot open the database: \(error)")
        }
        let created: (APIKey, String)
        do {
            try await store.migrate()
            created = try await APIKeyIssuer.issue(name: name, role: role, in: store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        let (record, key) = created
        FileHandle.standardError.write(
            Data(
                "Created the \(record.role.rawValue) API key \"\(record.name)\" (uuid \(record.uuid)). It is shown ONCE; use it as Authorization: Bearer <key>\n"
                    .utf8))
        FileHandle.standardOutput.write(Data((key + "\n").utf8))
    }
}
