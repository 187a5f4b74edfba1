import AsyncHTTPClient
import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Crypto
import Foundation

/// What an operator sends to create or change a webhook (already type-checked by the handler).
public struct WebhookInput: Sendable {
    public var uuid: String?
    public var name: String?
    public var summary: String?
    public var url: String?
    public var method: String?
    public var headers: [String: [String]]?
    public var timeoutSeconds: Int?
    public var conditionValidator: ConditionValidator?
    public var conditionFilter: String?
    public var secret: String?
    public var contentEncoding: String?
    public var tlsVerify: Bool?

    public init() {}
}

/// The webhook use cases: CRUD with validation, secrets sealed at rest, the delivery log,
/// redelivery and the synchronous publish.
public struct WebhookUseCases: Sendable {
    private let store: Store
    let box: SecretBox
    let deliverer: WebhookDeliverer

    init(store: Store, box: SecretBox, deliverer: WebhookDeliverer) {
        self.store = store
        self.box = box
        self.deliverer = deliverer
    }

    /// Opens the webhook part of a webhook.
    func open(_ s: StoredWebhook) throws -> Webhook { try s.opened(with: box) }

    func sealHeaders(_ h: [String: [String]]) throws -> String {
        try box.seal(JSONValue.object(h.mapValues { .array($0.map { .string($0) }) }).serialized())
    }

    /// A new signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random bytes.
    static func newSecret() -> String { "whsec_" + Base64.encode(Secrets.randomBytes(32)) }

    /// Checks an input; `currentURL` is the webhook's URL when it is being changed (a URL that
    /// is not new may hold ``WebhookURLMask/mask``, a new one may not).
    static func validate(_ i: WebhookInput, currentURL: String? = nil) throws(ClaiflowError) {
        if let url = i.url {
            guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = c.host, !host.isEmpty
            else {
                throw ClaiflowError.invalidField(
                    "url", "must be an absolute http:// or https:// URL, got \"\(WebhookURLMask.masked(url))\"")
            }
            if url != currentURL, WebhookURLMask.holdsMask(url) {
                throw ClaiflowError.invalidField(
                    "url",
                    "holds \(WebhookURLMask.mask) in place of a credential; a masked URL is kept only when sent back "
                        + "unchanged, so send the real credential to change it")
            }
        }
        if let m = i.method, !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(m) {
            throw ClaiflowError.invalidField("method", "must be GET, POST, PUT, PATCH or DELETE, got \"\(m)\"")
        }
        if let e = i.contentEncoding, e != "identity", e != "gzip" {
            throw ClaiflowError.invalidField("content_encoding", "must be identity or gzip, got \"\(e)\"")
        }
        if let s = i.secret,
            !(s.hasPrefix("whsec_") ? (Base64.decode(String(s.dropFirst(6)))?.count ?? 0) >= 16 : s.utf8.count >= 24)
        {
            throw ClaiflowError.invalidField("secret", "must be whsec_ + base64 of at least 16 bytes, or at least 24 characters")
        }
        for (k, _) in i.headers ?? [:] where k.isEmpty || !k.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 58 }) {
            throw ClaiflowError.invalidField("headers", "\"\(k)\" is not a valid header name")
        }
    }

    /// Creates a webhook; returns it with its secret (shown only now).
    public func create(_ i: WebhookInput) async throws -> Webhook {
        try Self.validate(i)
        guard let name = i.name, let url = i.url, let method = i.method else {
            throw ClaiflowError(.invalidArgument, "name, url and method are required")
        }
        let validator = i.conditionValidator ?? .none
        if validator == .jq {
            guard let filter = i.conditionFilter, !filter.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ClaiflowError.invalidField("conditionFilter", "is required when conditionValidator is jq")
            }
            _ = try WebhookCondition(filter: filter)
        }
        let now = Timestamp.now()
        let w = Webhook(
            uuid: i.uuid ?? Identifier.generate(), name: name, summary: i.summary, url: url, method: method,
            headers: i.headers ?? [:], timeoutSeconds: i.timeoutSeconds ?? 0, conditionValidator: validator,
            conditionFilter: i.conditionFilter, secret: i.secret ?? Self.newSecret(),
            contentEncoding: i.contentEncoding ?? "identity",
            tlsVerify: i.tlsVerify ?? true, created: now, updated: now)
        try await store.insertWebhook(w, sealedHeaders: try sealHeaders(w.headers), sealedSecret: try box.seal(w.secret))
        return w
    }

    /// One webhook (secret included; the handler decides what to show).
    public func get(_ uuid: String) async throws -> Webhook {
        guard let s = try await store.webhook(uuid: uuid) else { throw ClaiflowError.notFound("webhook", uuid) }
        return try open(s)
    }

    /// Lists webhooks.
    public func list(_ q: ListQuery) async throws -> [Webhook] { try await store.webhooks(q).map(open) }

    /// The delivery log of a webhook (404 when the webhook does not exist).
    public func deliveries(webhookUUID: String, query: ListQuery) async throws -> [WebhookDelivery] {
        _ = try await get(webhookUUID)
        return try await store.deliveries(webhookUUID: webhookUUID, query: query)
    }

    /// The newest delivery of each of these webhooks, by webhook (the console's list).
    public func latestDeliveries(webhookUUIDs: [String]) async throws -> [String: WebhookDelivery] {
        try await store.latestDeliveries(webhookUUIDs: webhookUUIDs)
    }

    /// Header values sent back as shown (`********`) keep the webhook's current value of the same
    /// name (case-insensitive) at the same position; a mask with no value to keep is a 400.
    static func restoringMasked(
        _ headers: [String: [String]], current: [String: [String]]
    ) throws(ClaiflowError) -> [String: [String]] {
        var restored = headers
        for (name, values) in headers where values.contains(WebhookURLMask.mask) {
            let kept = current.first { $0.key.lowercased() == name.lowercased() }?.value ?? []
            restored[name] = try values.enumerated().map { (index, value) throws(ClaiflowError) -> String in
                guard value == WebhookURLMask.mask else { return value }
                guard index < kept.count else {
                    throw ClaiflowError.invalidField(
                        "headers",
                        "\"\(name)\" holds \(WebhookURLMask.mask) where the webhook has no value to keep; send the value")
                }
                return kept[index]
            }
        }
        return restored
    }

    /// Changes a webhook; a new secret (given, or `rotate`) is returned in the result. The URL
    /// and header values as shown (masked) sent back unchanged keep the real ones.
    public func update(_ uuid: String, _ i: WebhookInput, rotate: Bool) async throws -> Webhook {
        guard let current = try await store.webhook(uuid: uuid).map(open) else { throw ClaiflowError.notFound("webhook", uuid) }
        var i = i
        if let url = i.url, url == WebhookURLMask.masked(current.url) { i.url = current.url }
        if let headers = i.headers { i.headers = try Self.restoringMasked(headers, current: current.headers) }
        try Self.validate(i, currentURL: current.url)
        let validator = i.conditionValidator ?? current.conditionValidator
        if validator == .jq { _ = try WebhookCondition(filter: i.conditionFilter ?? current.conditionFilter ?? ".") }
        var c = WebhookChanges()
        c.name = i.name
        c.summary = i.summary
        c.url = i.url
        c.method = i.method
        c.headers = try i.headers.map(sealHeaders)
        c.timeoutSeconds = i.timeoutSeconds
        c.conditionValidator = i.conditionValidator
        c.conditionFilter = i.conditionFilter
        c.contentEncoding = i.contentEncoding
        c.tlsVerify = i.tlsVerify
        let secret = rotate ? Self.newSecret() : i.secret
        c.secret = try secret.map(box.seal)
        guard !c.isEmpty else { throw ClaiflowError(.invalidArgument, "nothing to change") }
        guard let s = try await store.updateWebhook(uuid: uuid, changes: c, now: .now()) else {
            throw ClaiflowError.notFound("webhook", uuid)
        }
        return try open(s)
    }

    /// Deletes a webhook with its delivery log.
    public func delete(_ uuid: String) async throws {
        guard try await store.deleteWebhook(uuid: uuid) else { throw ClaiflowError.notFound("webhook", uuid) }
    }

    /// Queues a delivery again.
    public func redeliver(webhook: String, delivery: String) async throws -> WebhookDelivery {
        switch try await store.redeliver(webhookUUID: webhook, deliveryUUID: delivery, now: .now()) {
        case .queued(let d):
            // An operator's redelivery is sent now, not after the webhook's backoff.
            deliverer.gate.forgetFailures(of: webhook)
            deliverer.poke()
            return d
        case .notFound:
            throw ClaiflowError(.notFound, "delivery \"\(delivery)\" of webhook \"\(webhook)\" not found")
        case .inFlight:
            throw ClaiflowError(
                .conflict, "delivery \"\(delivery)\" is being sent right now; redeliver it after this attempt ends")
        }
    }

    /// Sends a payload now (condition checked) and returns the outcome.
    public func publish(_ uuid: String, payload: JSONValue) async throws -> WebhookDeliverer.Attempt {
        let w = try await get(uuid)
        return await deliverer.send(webhook: w, id: Identifier.generate(), body: payload.serialized(), payload: payload)
    }
}
