import ClaiflowCore
import ClaiflowStore

extension StoredWebhook {
    /// The webhook with its signing secret and headers unsealed.
    func opened(with box: SecretBox) throws -> Webhook {
        var w = webhook
        w.secret = try box.open(sealedSecret)
        if case .object(let o)? = try? JSONValue.parse(try box.open(sealedHeaders)) {
            w.headers = o.compactMapValues { v in
                guard case .array(let items) = v else { return nil }
                return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
        }
        return w
    }
}
