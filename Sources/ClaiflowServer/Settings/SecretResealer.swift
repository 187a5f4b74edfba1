import ClaiflowCore
import ClaiflowStore
import Logging
import ServiceLifecycle
import Synchronization

/// During a key rotation (`--previous-encryption-keys`), seals every stored secret of a previous
/// key again with the current one, once, at start; the log says when the previous keys can go.
public final class SecretResealer: ServiceLifecycle.Service, Sendable {
    private let store: Store
    private let box: SecretBox
    private let logger: Logger
    private let result = Mutex<Int?>(nil)

    init(store: Store, box: SecretBox, logger: Logger) {
        self.store = store
        self.box = box
        self.logger = logger
    }

    /// How many values the pass re-sealed, once it has finished.
    public var resealed: Int? { result.withLock { $0 } }

    public func run() async throws {
        do {
            let n = try await store.reseal(with: box)
            result.withLock { $0 = n }
            logger.notice(
                "every stored secret is sealed with the current encryption key; the previous keys can be removed",
                metadata: ["resealed": .stringConvertible(n)])
        } catch {
            logger.error(
                "re-sealing secrets with the current encryption key failed; keep the previous keys and restart to retry",
                metadata: ["error": .string("\(error)")])
        }
        try? await gracefulShutdown()
    }
}
