import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Foundation
import Hummingbird

/// The console's API key page, for admins only (others get 403, and no link): the keys (never
/// a key's text or hash), creating one (its text shown once, on the page that answers the form)
/// and deleting one (deleting the key of this session signs it out).
extension ConsoleController {
    /// `GET /ui/apikeys`: the keys, 50 a page, and the form to create one.
    @Sendable func apiKeyList(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.requireAdmin(context)
        let params = QueryParameters(request)
        var notice: String?
        if params["deleted"] != nil { notice = "The API key was deleted; it stopped working at once." }
        return try await apiKeyPage(context: context, page: Int(params["page"] ?? "") ?? 1, notice: notice)
    }

    func apiKeyPage(
        context: AppRequestContext, page: Int, form: FormData? = nil, fieldErrors: [String: String] = [:],
        notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let page = max(1, page)
        let (list, more) = try await Self.onePage(ListQuery(), page: page) { try await operators.apiKeys($0) }
        let own = context.consoleSession?.keyUUID
        let role = form?["role"] ?? Role.viewer.rawValue
        return pages.page(
            "apikeys", title: "API keys", context: context,
            [
                "keys": list.map { k -> [String: Any] in
                    [
                        "uuid": k.uuid, "name": k.name, "role": k.role.rawValue, "prefix": k.prefix,
                        "created": k.created.description, "own": k.uuid == own,
                    ]
                },
                "empty": list.isEmpty, "notice": notice as Any, "error": error as Any,
                "name": form?["name"] ?? "", "nameError": fieldErrors["name"] as Any, "roleError": fieldErrors["role"] as Any,
                "roles": Role.allCases.map { ["name": $0.rawValue, "selected": $0.rawValue == role] as [String: Any] },
                "pager": Self.pager(page: page, more: more, base: "/ui/apikeys", extra: [:]),
            ], status: status)
    }

    /// `POST /ui/apikeys`: creates a key and answers with a page that shows its text, once.
    @Sendable func createAPIKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form, role: .admin)
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [String: String] = [:]
        if name.isEmpty {
            errors["name"] = "A name is required."
        } else if name.count > APIKeyIssuer.maximumNameLength {
            errors["name"] = "At most \(APIKeyIssuer.maximumNameLength) characters (this has \(name.count))."
        } else if TextField.containsNUL(name) {
            errors["name"] = "The name must not contain the NUL character."
        }
        let role = Role(rawValue: (form["role"] ?? "").lowercased())
        if role == nil { errors["role"] = "Choose viewer, operator or admin." }
        guard errors.isEmpty, let role else {
            return try await apiKeyPage(
                context: context, page: 1, form: form, fieldErrors: errors, error: "Nothing was created: check the fields below.",
                status: .badRequest)
        }
        let (k, key) = try await operators.createAPIKey(name: name, role: role)
        context.logger.notice("api key created", metadata: ["key_uuid": .string(k.uuid), "role": .string(role.rawValue)])
        return pages.page(
            "apikeys_created", title: "API key created", context: context,
            ["key": ["uuid": k.uuid, "name": k.name, "role": k.role.rawValue, "text": key] as [String: Any]])
    }

    /// `POST /ui/apikeys/{uuid}/delete`: deletes a key; deleting this session's own key ends
    /// the session (to the sign-in page, the cookie cleared).
    @Sendable func deleteAPIKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "api key")
        let form = try await FormData.read(request, context: context)
        let session = try context.formSession(form, role: .admin)
        do {
            try await operators.deleteAPIKey(uuid: uuid)
        } catch let e as ClaiflowError where e.kind == .conflict || e.kind == .notFound {
            return try await apiKeyPage(
                context: context, page: 1, error: e.message, status: e.kind == .conflict ? .conflict : .notFound)
        }
        context.logger.notice("api key deleted", metadata: ["key_uuid": .string(uuid)])
        if uuid == session.keyUUID {
            if let token = ConsoleSessions.token(cookieHeader: request.headers[.cookie]) {
                try await sessions.signOut(token: token)
            }
            return Response(
                status: .seeOther,
                headers: [
                    .location: "/ui/login",
                    .setCookie: SessionCookie.clear(secure: SessionCookie.secure(request, always: secureCookie)),
                ])
        }
        return Response(status: .seeOther, headers: [.location: "/ui/apikeys?deleted=1"])
    }

    /// Admins only: 403 for the others.
    static func requireAdmin(_ context: AppRequestContext) throws {
        guard let s = context.consoleSession, s.role >= .admin else {
            throw ClaiflowError(.permissionDenied, "API keys are managed by admins only")
        }
    }
}
