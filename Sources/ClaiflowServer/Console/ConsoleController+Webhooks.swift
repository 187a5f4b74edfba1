import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Foundation
import Hummingbird

/// The console's webhook pages: the webhooks with their latest delivery, and one webhook's
/// delivery log with a redeliver button per delivery (the API's use cases, the API's roles:
/// viewers read, operators redeliver). A webhook's secret and header values are never shown.
extension ConsoleController {
    /// `GET /ui/webhooks`: the webhooks, 50 a page, each with its newest delivery's status.
    @Sendable func webhookList(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = max(1, Int(QueryParameters(request)["page"] ?? "") ?? 1)
        let (list, more) = try await Self.onePage(ListQuery(), page: page) { try await webhooks.list($0) }
        let latest = try await webhooks.latestDeliveries(webhookUUIDs: list.map(\.uuid))
        return pages.page(
            "webhooks", title: "Webhooks", context: context,
            [
                "webhooks": list.map { w -> [String: Any] in
                    var row = Self.webhookRow(w)
                    if let d = latest[w.uuid] {
                        row["lastStatus"] = d.status.rawValue
                        row["lastTime"] = d.updated.description
                    }
                    return row
                },
                "empty": list.isEmpty,
                "pager": Self.pager(page: page, more: more, base: "/ui/webhooks", extra: [:]),
            ])
    }

    /// `GET /ui/webhooks/{uuid}`: the webhook and its delivery log, newest first, 50 a page,
    /// filtered by `status`.
    @Sendable func webhook(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let params = QueryParameters(request)
        var notice: String?
        if let d = params["redelivered"], Identifier.isValid(d) {
            notice = "Delivery \(d) is queued again; its new attempt shows here once it is sent (reload)."
        }
        return try await webhookPage(
            uuid, context: context, status: params["status"] ?? "", page: Int(params["page"] ?? "") ?? 1, notice: notice)
    }

    func webhookPage(
        _ uuid: String, context: AppRequestContext, status: String, page: Int, notice: String? = nil, error: String? = nil,
        errorStatus: HTTPResponse.Status = .badRequest
    ) async throws -> Response {
        let page = max(1, page)
        let w = try await webhooks.get(uuid)
        var filterError: String?
        var query = ListQuery()
        if !status.isEmpty {
            if let s = DeliveryStatus(rawValue: status) {
                query.condition = .compare(column: "status", op: .eq, value: .text(s.rawValue))
            } else {
                filterError =
                    "\"\(status)\" is not a delivery status: choose "
                    + DeliveryStatus.allCases.map(\.rawValue).joined(separator: ", ")
            }
        }
        let (list, more): ([WebhookDelivery], Bool) =
            filterError == nil
            ? try await Self.onePage(query, page: page) { try await webhooks.deliveries(webhookUUID: uuid, query: $0) }
            : ([], false)
        let httpStatus: HTTPResponse.Status = error != nil ? errorStatus : filterError != nil ? .badRequest : .ok
        return pages.page(
            "webhook", title: "Webhook \(w.name)", context: context,
            [
                "webhook": Self.webhookRow(w), "notice": notice as Any, "error": error as Any,
                "filterError": filterError as Any, "filterStatus": status, "page": page,
                "statuses": DeliveryStatus.allCases.map {
                    ["name": $0.rawValue, "selected": $0.rawValue == status] as [String: Any]
                },
                "deliveries": list.map(Self.deliveryRow), "empty": list.isEmpty,
                "pager": Self.pager(page: page, more: more, base: "/ui/webhooks/\(uuid)", extra: ["status": status]),
            ], status: httpStatus)
    }

    /// `POST /ui/webhooks/{uuid}/deliveries/{delivery}/redeliver`: queues the delivery again
    /// (operators), then back to the log with a notice.
    @Sendable func redeliver(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "webhook")
        let delivery = try Handlers.pathID(context, "delivery", entity: "delivery")
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form)
        let status = DeliveryStatus(rawValue: form["status"] ?? "")?.rawValue ?? ""
        let page = max(1, Int(form["page"] ?? "") ?? 1)
        do {
            _ = try await webhooks.redeliver(webhook: uuid, delivery: delivery)
        } catch let e as ClaiflowError where e.kind == .conflict {
            return try await webhookPage(
                uuid, context: context, status: status, page: page, error: e.message, errorStatus: .conflict)
        }
        var query = ["redelivered=\(delivery)"]
        if !status.isEmpty { query.append("status=\(status)") }
        if page > 1 { query.append("page=\(page)") }
        return Response(status: .seeOther, headers: [.location: "/ui/webhooks/\(uuid)?" + query.joined(separator: "&")])
    }

    // MARK: Views

    /// A webhook as shown: the URL's credentials masked, no headers, never the secret.
    static func webhookRow(_ w: Webhook) -> [String: Any] {
        var row: [String: Any] = [
            "uuid": w.uuid, "name": w.name, "url": WebhookURLMask.masked(w.url), "method": w.method,
            "events": w.conditionValidator == .jq
                ? "service status changes where jq \(w.conditionFilter ?? ".") is true" : "every service status change",
            "timeout": "\(w.timeoutSeconds == 0 ? 10 : w.timeoutSeconds) s", "contentEncoding": w.contentEncoding,
            "tlsVerify": w.tlsVerify, "created": w.created.description, "updated": w.updated.description,
        ]
        // An empty string opens a Mustache section: only the fields a webhook has.
        if let summary = w.summary, !summary.isEmpty { row["summary"] = summary }
        return row
    }

    /// A delivery as shown; the keys of what it lacks are left out (a section of a missing key
    /// would look it up in the page).
    static func deliveryRow(_ d: WebhookDelivery) -> [String: Any] {
        var row: [String: Any] = [
            "uuid": d.uuid, "cluster": d.clusterUUID, "service": d.serviceUUID, "status": d.status.rawValue,
            "attempts": d.attempts, "created": d.created.description, "updated": d.updated.description,
        ]
        if let code = d.lastResponseCode { row["code"] = code }
        if let e = d.lastError, !e.isEmpty { row["lastError"] = e }
        if d.lastResponseCode == nil, d.lastError?.isEmpty ?? true { row["noResponse"] = true }
        if let t = d.delivered { row["delivered"] = t.description }
        if d.status == .pending, let next = d.nextAttempt { row["nextAttempt"] = next.description }
        return row
    }
}
