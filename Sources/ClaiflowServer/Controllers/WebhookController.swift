import ClaiflowCore
import ClaiflowStore
import Hummingbird

/// `/api/v1/webhook`: the resource, its delivery log, redelivery and publish.
struct WebhookController {
    let webhooks: WebhookUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("webhook", use: create)
        group.get("webhook", use: list)
        group.get("webhook/{uuid}", use: get)
        group.put("webhook/{uuid}", use: update)
        group.delete("webhook/{uuid}", use: delete)
        group.post("webhook/{uuid}/rotate_secret", use: rotate)
        group.get("webhook/{uuid}/delivery", use: deliveries)
        group.post("webhook/{uuid}/delivery/{delivery_uuid}/redeliver", use: redeliver)
        group.post("webhook/{uuid}/publish", use: publish)
    }

    /// `Webhook`: the original's fields (camelCase `conditionValidator`/`conditionFilter`,
    /// `timeout` as a Go duration) plus `content_encoding` and `tls_verify`. Header values and the
    /// URL's credentials (``WebhookURLMask``) are masked; `secret` only appears when it was just
    /// created or rotated.
    struct Wire: Encodable {
        let uuid: String
        let name: String
        let summary: String?
        let url: String
        let method: String
        let headers: [String: [String]]?
        let timeout: String
        let conditionValidator: String
        let conditionFilter: String?
        let content_encoding: String
        let tls_verify: Bool
        let secret: String?
        let created: Timestamp
        let updated: Timestamp

        init(_ w: Webhook, showSecret: Bool = false) {
            uuid = w.uuid
            name = w.name
            summary = w.summary
            url = WebhookURLMask.masked(w.url)
            method = w.method
            headers = w.headers.isEmpty ? nil : w.headers.mapValues { $0.map { _ in "********" } }
            timeout = GoDuration.seconds(Int64(w.timeoutSeconds)).description
            conditionValidator = w.conditionValidator.name
            conditionFilter = w.conditionFilter
            content_encoding = w.contentEncoding
            tls_verify = w.tlsVerify
            secret = showSecret ? w.secret : nil
            created = w.created
            updated = w.updated
        }
    }

    struct DeliveryWire: Encodable {
        let uuid: String
        let webhook_uuid: String
        let cluster_uuid: String
        let service_uuid: String
        let status: String
        let attempts: Int
        let next_attempt: Timestamp?
        let last_response_code: Int?
        let last_error: String?
        let payload: JSONValue
        let created: Timestamp
        let updated: Timestamp
        let delivered: Timestamp?

        init(_ d: WebhookDelivery) {
            uuid = d.uuid
            webhook_uuid = d.webhookUUID
            cluster_uuid = d.clusterUUID
            service_uuid = d.serviceUUID
            status = d.status.rawValue
            attempts = d.attempts
            next_attempt = d.status == .pending ? d.nextAttempt : nil
            last_response_code = d.lastResponseCode
            last_error = d.lastError
            payload = (try? JSONValue.parse(d.payload)) ?? .null
            created = d.created
            updated = d.updated
            delivered = d.delivered
        }
    }

    static func input(_ body: RequestBody, creating: Bool) throws(ClaiflowError) -> WebhookInput {
        var i = WebhookInput()
        if creating { i.uuid = try body.identifier("uuid") }
        i.name = try body.string("name", required: creating, allowEmpty: false)
        i.summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        i.url = try body.string("url", required: creating, allowEmpty: false, maxLength: 2048)
        i.method = try body.string("method", required: creating, allowEmpty: false, maxLength: 16)?.uppercased()
        if let h = body.json.field("headers") {
            guard case .object(let o) = h else {
                throw ClaiflowError.invalidField("headers", "must be an object of header name → array of strings")
            }
            var headers: [String: [String]] = [:]
            for (k, v) in o {
                guard case .array(let items) = v else {
                    throw ClaiflowError.invalidField("headers", "the value of \"\(k)\" must be an array of strings")
                }
                headers[k] = try items.map { item throws(ClaiflowError) -> String in
                    guard case .string(let s) = item, !s.contains("\r"), !s.contains("\n") else {
                        throw ClaiflowError.invalidField("headers", "the values of \"\(k)\" must be single-line strings")
                    }
                    try TextField.check(s, field: "headers")
                    return s
                }
            }
            i.headers = headers
        }
        if let t = body.json.field("timeout") {
            let seconds: Int64
            switch t {
            case .string(let s):
                guard let d = GoDuration(parsing: s) else {
                    throw ClaiflowError.invalidField("timeout", "must be a duration like 10s or 1m30s, got \"\(s)\"")
                }
                seconds = d.nanoseconds / 1_000_000_000
            case .integer(let n): seconds = n
            default: throw ClaiflowError.invalidField("timeout", "must be a duration like 10s")
            }
            guard (0...300).contains(seconds) else {
                throw ClaiflowError.invalidField("timeout", "must be from 0s to 5m (0 = 10s)")
            }
            i.timeoutSeconds = Int(seconds)
        }
        if let v = try body.string("conditionValidator", maxLength: 16) {
            guard let validator = ConditionValidator(name: v) else {
                throw ClaiflowError.invalidField("conditionValidator", "must be none or jq, got \"\(v)\"")
            }
            i.conditionValidator = validator
        }
        i.conditionFilter = try body.string("conditionFilter", maxLength: 4096)
        i.contentEncoding = try body.string("content_encoding", maxLength: 16)?.lowercased()
        if let v = body.json.field("tls_verify") {
            guard case .bool(let b) = v else { throw ClaiflowError.invalidField("tls_verify", "must be true or false") }
            i.tlsVerify = b
        }
        i.secret = try body.string("secret", maxLength: 256)
        return i
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let w = try await webhooks.create(try Self.input(body, creating: true))
        return try JSONResponse.make(Wire(w, showSecret: true), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.webhook)
        return try JSONResponse.make(try await webhooks.list(q).map { Wire($0) }, request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        return try JSONResponse.make(Wire(try await webhooks.get(uuid)), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let body = try await RequestBody.read(request, context: context)
        let input = try Self.input(body, creating: false)
        let w = try await webhooks.update(uuid, input, rotate: false)
        return try JSONResponse.make(Wire(w, showSecret: input.secret != nil), request: request)
    }

    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let w = try await webhooks.update(uuid, WebhookInput(), rotate: true)
        context.logger.notice("webhook secret rotated", metadata: ["webhook": .string(uuid)])
        return try JSONResponse.make(Wire(w, showSecret: true), request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        try await webhooks.delete(uuid)
        return try JSONResponse.ok(request)
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let q = try Handlers.listQuery(request, schema: Tables.delivery, unpagedLimit: 100)
        return try JSONResponse.make(
            try await webhooks.deliveries(webhookUUID: uuid, query: q).map(DeliveryWire.init), request: request)
    }

    @Sendable func redeliver(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let delivery = context.parameters.get("delivery_uuid") ?? ""
        return try JSONResponse.make(
            DeliveryWire(try await webhooks.redeliver(webhook: uuid, delivery: delivery)), request: request)
    }

    struct PublishWire: Encodable {
        let sent: Bool
        let condition: Bool
        let status_code: Int?
        let error: String?
    }

    @Sendable func publish(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let buffer = try await RequestBody.bytes(request)
        let payload = buffer.readableBytes == 0 ? JSONValue.null : try JSONValue.parse(buffer.readableBytesView)
        let a = try await webhooks.publish(uuid, payload: payload)
        return try JSONResponse.make(
            PublishWire(sent: a.sent, condition: a.conditionMatched, status_code: a.statusCode, error: a.error), request: request)
    }
}
