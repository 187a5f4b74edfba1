import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Foundation
import HTTPTypes
import Hummingbird

/// The web console under `/ui/`: pages rendered on the server from the same use cases as the
/// API. Read pages work without JavaScript; `console.js` adds live updates from
/// `/api/v1/events`. Every form carries the session's CSRF token; writes need the operator role.
struct ConsoleController {
    let sessions: ConsoleSessions
    let broadcaster: EventBroadcaster
    let pages: ConsolePages
    let operators: OperatorUseCases
    let reads: ConsoleReads
    let services: ServiceUseCases
    let runs: RunUseCases
    /// The webhook pages' use cases (ConsoleController+Webhooks).
    let webhooks: WebhookUseCases
    /// Whether the session cookie is always `Secure` (else only when the request came over TLS).
    let secureCookie: Bool
    /// How many rows a list page shows.
    static let pageSize = 50

    /// Page `page` (from 1) of what `fetch` lists: at most ``pageSize`` rows, page `n` starting
    /// at row `(n - 1) × pageSize`, and whether a next page exists (`fetch` is asked for one row
    /// more). A page past the largest offset a list takes is a 400 naming `page`.
    static func onePage<Row>(
        _ query: ListQuery, page: Int, _ fetch: (ListQuery) async throws -> [Row]
    ) async throws -> (rows: [Row], more: Bool) {
        let last = ListQueryParser.maxOffset / pageSize
        guard page <= last else {
            throw ClaiflowError.invalidField("page", "page \(page) is too large: a list reaches page \(last) at most")
        }
        var q = query
        q.page = Page(limit: pageSize + 1, offset: (max(1, page) - 1) * pageSize)
        let rows = try await fetch(q)
        return (Array(rows.prefix(pageSize)), rows.count > pageSize)
    }

    func register(on router: Router<AppRequestContext>) {
        let ui = router.group("ui")
        ui.get("login", use: loginPage)
        ui.post("login", use: login)
        ui.get("static/{file}", use: file)
        let pagesGroup = ui.group().add(middleware: ConsoleAuthMiddleware(sessions: sessions, broadcaster: broadcaster))
        pagesGroup.get("", use: overview)
        pagesGroup.post("logout", use: logout)
        pagesGroup.get("clusters", use: clusters)
        pagesGroup.post("clusters", use: createCluster)
        pagesGroup.get("clusters/{uuid}", use: cluster)
        pagesGroup.post("clusters/{uuid}", use: updateCluster)
        pagesGroup.get("templates", use: templates)
        pagesGroup.get("templates/{uuid}", use: template)
        pagesGroup.post("templates/{uuid}/run", use: runTemplate)
        pagesGroup.get("services", use: serviceList)
        pagesGroup.get("services/{cluster}/{uuid}", use: service)
        pagesGroup.post("services/{cluster}/{uuid}/cancel", use: cancelService)
        pagesGroup.get("runs", use: runList)
        pagesGroup.get("runs/{uuid}", use: run)
        // Webhooks (delivery log, redeliver) and API keys (admins): ConsoleController+Webhooks, +APIKeys.
        pagesGroup.get("webhooks", use: webhookList)
        pagesGroup.get("webhooks/{uuid}", use: webhook)
        pagesGroup.post("webhooks/{uuid}/deliveries/{delivery}/redeliver", use: redeliver)
        pagesGroup.get("apikeys", use: apiKeyList)
        pagesGroup.post("apikeys", use: createAPIKey)
        pagesGroup.post("apikeys/{uuid}/delete", use: deleteAPIKey)
    }

    // MARK: Sign-in

    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        loginForm(request, context: context, error: nil)
    }

    /// The sign-in page with its CSRF token (``LoginCSRF``) in the form and in a cookie.
    func loginForm(_ request: Request, context: AppRequestContext, error: String?) -> Response {
        let token = LoginCSRF.token(request)
        var response = pages.page(
            "login", title: "Sign in", context: context, ["error": error as Any, "loginCSRF": token],
            status: error == nil ? .ok : .unauthorized)
        response.headers.append(
            HTTPField(name: .setCookie, value: LoginCSRF.set(token, secure: SessionCookie.secure(request, always: secureCookie))))
        return response
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        guard LoginCSRF.accepts(request, form: form) else {
            throw ClaiflowError(
                .permissionDenied, "This sign-in form has expired or was sent from another site: open the sign-in page again.")
        }
        let secure = SessionCookie.secure(request, always: secureCookie)
        do {
            let (token, _) = try await sessions.signIn(key: form["key"] ?? "")
            var headers: HTTPFields = [.location: "/ui/"]
            headers.append(
                HTTPField(
                    name: .setCookie,
                    value: SessionCookie.set(token, maxAge: sessions.lifetime.nanoseconds / 1_000_000_000, secure: secure)))
            headers.append(HTTPField(name: .setCookie, value: LoginCSRF.clear(secure: secure)))
            return Response(status: .seeOther, headers: headers)
        } catch let e as ClaiflowError where e.kind == .unauthenticated {
            return loginForm(request, context: context, error: e.message)
        }
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form, role: .viewer)
        if let token = ConsoleSessions.token(cookieHeader: request.headers[.cookie]) { try await sessions.signOut(token: token) }
        return Response(
            status: .seeOther,
            headers: [
                .location: "/ui/login",
                .setCookie: SessionCookie.clear(secure: SessionCookie.secure(request, always: secureCookie)),
            ])
    }

    @Sendable func file(_ request: Request, context: AppRequestContext) async throws -> Response {
        try pages.file(context.parameters.get("file") ?? "")
    }

    // MARK: Overview

    @Sendable func overview(_ request: Request, context: AppRequestContext) async throws -> Response {
        let now = Timestamp.now()
        let o = try await reads.overview(now: now, since: Timestamp(microseconds: now.microseconds - 86_400_000_000))
        let failed = try await services.listServices(
            try ListQueryParser(schema: Tables.service).parse(q: #"{"eq":{"status":8}}"#, o: nil, p: #"{"limit":10}"#))
        return pages.page(
            "overview", title: "Overview", context: context,
            [
                "clusters": o.clusters, "connected": o.connected, "runsInProgress": o.runsInProgress,
                "byStatus": ServiceStatus.allCases.map { s in
                    ["status": s.name, "count": o.servicesByStatus[s] ?? 0] as [String: Any]
                },
                "failures": failed.map(Self.serviceRow),
            ])
    }

    // MARK: Clusters

    @Sendable func clusters(_ request: Request, context: AppRequestContext) async throws -> Response {
        let params = QueryParameters(request)
        let selectorText = params["selector"] ?? ""
        let page = max(1, Int(params["page"] ?? "") ?? 1)
        var error: String?
        var selector: LabelSelector?
        if !selectorText.isEmpty {
            do { selector = try LabelSelector(parsing: selectorText) } catch let e { error = "selector: \(e.message)" }
        }
        let query = try ListQueryParser(schema: Tables.cluster).parse(q: nil, o: nil, p: nil)
        let (list, more) =
            error == nil
            ? try await Self.onePage(query, page: page) { try await operators.clusters($0, selector: selector) } : ([], false)
        let latest = try await reads.latestSessions(clusterUUIDs: list.map(\.uuid))
        let now = Timestamp.now()
        return pages.page(
            "clusters", title: "Clusters", context: context,
            [
                "selector": selectorText, "error": error as Any,
                "clusters": list.map { Self.clusterRow($0, latest[$0.uuid], now: now) },
                "empty": list.isEmpty,
                "pager": Self.pager(page: page, more: more, base: "/ui/clusters", extra: ["selector": selectorText]),
            ])
    }

    @Sendable func cluster(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster")
        return try await clusterPage(uuid, context: context, request: request)
    }

    func clusterPage(_ uuid: String, context: AppRequestContext, request: Request, error: String? = nil) async throws -> Response
    {
        let c = try await operators.cluster(uuid: uuid)
        let latest = try await reads.latestSessions(clusterUUIDs: [uuid])
        let recent = try await services.listServices(
            try ListQueryParser(schema: Tables.service).parse(
                q: #"{"eq":{"cluster_uuid":\#(JSONValue.string(uuid).serialized())}}"#, o: nil, p: #"{"limit":20}"#))
        let sessions = try await operators.sessions(
            try ListQueryParser(schema: Tables.session).parse(
                q: #"{"eq":{"cluster_uuid":\#(JSONValue.string(uuid).serialized())}}"#, o: #"{"desc":"id"}"#, p: #"{"limit":10}"#)
        )
        let now = Timestamp.now()
        let host = request.head.authority ?? "SERVER:8099"
        var row = Self.clusterRow(c, latest[uuid], now: .now())
        row["labelsText"] = c.labels.values.keys.sorted().map { "\($0)=\(c.labels.values[$0] ?? "")" }.joined(separator: "\n")
        return pages.page(
            "cluster", title: "Cluster \(c.name)", context: context,
            [
                "cluster": row, "services": recent.map(Self.serviceRow), "error": error as Any,
                "sessions": sessions.map { x -> [String: Any] in
                    [
                        "uuid": x.uuid, "version": x.clientVersion ?? "", "issued": x.issuedAt.description,
                        "updated": x.updated.description, "expires": x.expiresAt.description, "live": now < x.expiresAt,
                    ]
                },
                "register": """
                # 1. a cluster token (its secret is shown once)
                curl -H "Authorization: Bearer $KEY" -d '{"name":"agent","cluster_uuid":"\(c.uuid)"}' \\
                    http://\(host)/api/v1/cluster_token
                # 2. the agent, in the cluster
                CLAIFLOW_TOKEN=<secret> claiflow agent --server http://\(host) --cluster \(c.uuid)
                """,
            ], status: error == nil ? .ok : .badRequest)
    }

    @Sendable func createCluster(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form)
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw ClaiflowError.invalidField("name", "is required") }
        let labels = try Self.labels(form["labels"] ?? "")
        let c = try await operators.createCluster(uuid: nil, name: name, summary: nil, labels: labels)
        return Response(status: .seeOther, headers: [.location: "/ui/clusters/\(c.uuid)"])
    }

    @Sendable func updateCluster(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "cluster")
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form)
        var changes = ClusterChanges()
        switch form["action"] {
        case "pause": changes.paused = true
        case "resume": changes.paused = false
        default:
            do {
                changes.labels = try Self.labels(form["labels"] ?? "")
            } catch let e as ClaiflowError {
                return try await clusterPage(uuid, context: context, request: request, error: e.message)
            }
        }
        _ = try await operators.updateCluster(uuid: uuid, changes: changes)
        return Response(status: .seeOther, headers: [.location: "/ui/clusters/\(uuid)"])
    }

    /// Labels written one `key=value` per line (or separated by commas).
    static func labels(_ text: String) throws -> ClusterLabels {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == "\r" }) {
            let pair = line.trimmingCharacters(in: .whitespaces)
            if pair.isEmpty { continue }
            guard let eq = pair.firstIndex(of: "=") else {
                throw ClaiflowError.invalidField("labels", "\"\(pair)\" is not key=value")
            }
            values[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return try ClusterLabels(validating: values)
    }

    // MARK: Templates

    @Sendable func templates(_ request: Request, context: AppRequestContext) async throws -> Response {
        let params = QueryParameters(request)
        let search = params["search"] ?? ""
        // From a cluster's "Run a template here": each template's form opens on that cluster.
        let cluster = params["cluster"].flatMap { Identifier.isValid($0) ? $0 : nil } ?? ""
        let q = search.isEmpty ? nil : #"{"like":{"name":\#(JSONValue.string("%" + search + "%").serialized())}}"#
        let page = max(1, Int(params["page"] ?? "") ?? 1)
        let (list, more) = try await Self.onePage(
            ListQueryParser(schema: Tables.template).parse(q: q, o: #"{"asc":"name"}"#, p: nil), page: page
        ) { try await services.templates($0) }
        return pages.page(
            "templates", title: "Templates", context: context,
            [
                "search": search, "empty": list.isEmpty, "cluster": cluster,
                "query": cluster.isEmpty ? "" : "?cluster=\(cluster)",
                "pager": Self.pager(
                    page: page, more: more, base: "/ui/templates", extra: ["search": search, "cluster": cluster]),
                "templates": list.map { ["uuid": $0.uuid, "name": $0.name, "summary": $0.summary ?? "", "origin": $0.origin] },
            ])
    }

    @Sendable func template(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "template")
        let params = QueryParameters(request)
        return try await templatePage(uuid, context: context, form: nil, errors: [:], cluster: params["cluster"])
    }

    func templatePage(
        _ uuid: String, context: AppRequestContext, form: FormData?, errors: [String: String], message: String? = nil,
        cluster: String? = nil
    ) async throws -> Response {
        let t = try await services.template(uuid: uuid)
        let schema = (try? JSONValue.parse(t.inputs)) ?? .object([:])
        let fields = SchemaForm(schema: schema).view(values: form, errors: errors)
        let flow = (try? JSONValue.parse(t.flow)).map(Self.pretty) ?? t.flow
        let target = form?["target"] ?? "cluster"
        return pages.page(
            "template", title: "Template \(t.name)", context: context,
            [
                "template": ["uuid": t.uuid, "name": t.name, "summary": t.summary ?? "", "flow": flow],
                "fields": fields, "hasFields": !fields.isEmpty, "error": message as Any,
                "cluster": form?["cluster"] ?? cluster ?? "", "selector": form?["selector"] ?? "",
                "maxParallel": form?["max_parallel"] ?? "", "maxFailures": form?["max_failures"] ?? "",
                "targetCluster": target != "selector", "targetSelector": target == "selector",
            ], status: message == nil && errors.isEmpty ? .ok : .badRequest)
    }

    @Sendable func runTemplate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "template")
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form)
        let t = try await services.template(uuid: uuid)
        let schemaForm = SchemaForm(schema: (try? JSONValue.parse(t.inputs)) ?? .object([:]))
        let inputs = schemaForm.inputs(from: form)
        do {
            if form["target"] == "selector" {
                let selector = try LabelSelector(parsing: form["selector"] ?? "")
                let strategy = try RunStrategy(
                    json: .object(
                        [("max_parallel", form["max_parallel"]), ("max_failures", form["max_failures"])].reduce(
                            into: [String: JSONValue]()
                        ) { o, kv in
                            if let v = kv.1, !v.isEmpty { o[kv.0] = Int64(v).map(JSONValue.integer) ?? .string(v) }
                        }))
                let (r, _) = try await runs.create(
                    RunUseCases.CreateRun(
                        name: t.name, templateUUID: t.uuid, inputs: inputs, target: .selector(selector), strategy: strategy))
                return Response(status: .seeOther, headers: [.location: "/ui/runs/\(r.uuid)"])
            }
            let cluster = (form["cluster"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !cluster.isEmpty else { throw ClaiflowError.invalidField("cluster", "choose a cluster") }
            let created = try await services.createServices(
                ServiceUseCases.CreateServices(clusterUUIDs: [cluster], templateUUID: t.uuid, inputs: inputs))
            guard let s = created.first?.service else { throw ClaiflowError(.internal, "no service was created") }
            return Response(status: .seeOther, headers: [.location: "/ui/services/\(s.clusterUUID)/\(s.uuid)"])
        } catch let e as ClaiflowError where e.kind == .invalidArgument || e.kind == .notFound {
            let errors = schemaForm.fieldErrors(e.message)
            return try await templatePage(
                uuid, context: context, form: form, errors: errors,
                message: errors.isEmpty ? e.message : "Check the fields marked below.")
        }
    }

    // MARK: Services

    @Sendable func serviceList(_ request: Request, context: AppRequestContext) async throws -> Response {
        let params = QueryParameters(request)
        let page = max(1, Int(params["page"] ?? "") ?? 1)
        var conditions: [String] = []
        let status = params["status"] ?? ""
        if let s = ServiceStatus.allCases.first(where: { $0.name == status }) {
            conditions.append(#"{"eq":{"status":\#(s.rawValue)}}"#)
        }
        for (param, column) in [("cluster", "cluster_uuid"), ("template", "template_uuid")] {
            if let v = params[param], !v.isEmpty {
                conditions.append(#"{"eq":{"\#(column)":\#(JSONValue.string(v).serialized())}}"#)
            }
        }
        let q = conditions.isEmpty ? nil : #"{"and":[\#(conditions.joined(separator: ","))]}"#
        let (list, more) = try await Self.onePage(
            ListQueryParser(schema: Tables.service).parse(q: q, o: nil, p: nil), page: page
        ) { try await services.listServices($0) }
        return pages.page(
            "services", title: "Services", context: context,
            [
                "services": list.map(Self.serviceRow), "empty": list.isEmpty, "cluster": params["cluster"] ?? "",
                "template": params["template"] ?? "",
                "statuses": ServiceStatus.allCases.map { ["name": $0.name, "selected": $0.name == status] as [String: Any] },
                "pager": Self.pager(
                    page: page, more: more, base: "/ui/services",
                    extra: ["status": status, "cluster": params["cluster"] ?? "", "template": params["template"] ?? ""]),
            ])
    }

    @Sendable func service(_ request: Request, context: AppRequestContext) async throws -> Response {
        let cluster = try Handlers.pathID(context, "cluster", entity: "cluster")
        let uuid = try Handlers.pathID(context, "uuid", entity: "service")
        let d = try await services.service(clusterUUID: cluster, uuid: uuid)
        var row = Self.serviceRow(d)
        var previous: Timestamp?
        row["steps"] = d.statuses.map { s -> [String: Any] in
            defer { previous = s.created }
            var step: [String: Any] = [
                "seq": s.stepSeq, "status": s.status.name, "created": s.created.description, "message": s.message ?? "",
            ]
            if let started = s.started, let ended = s.ended {
                step["duration"] = Self.duration(ended.microseconds - started.microseconds)
            } else if let previous {
                step["duration"] = "+" + Self.duration(s.created.microseconds - previous.microseconds)
            }
            return step
        }
        if let r = d.result {
            row["result"] = (try? JSONValue.parse(r.result)).map(Self.pretty) ?? r.result
        }
        row["inputsText"] = (try? JSONValue.parse(d.service.inputs)).map(Self.pretty) ?? d.service.inputs
        row["cancelable"] = !d.service.status.isTerminal && !d.service.cancelRequested
        return pages.page("service", title: "Service \(d.service.name)", context: context, ["service": row])
    }

    @Sendable func cancelService(_ request: Request, context: AppRequestContext) async throws -> Response {
        let cluster = try Handlers.pathID(context, "cluster", entity: "cluster")
        let uuid = try Handlers.pathID(context, "uuid", entity: "service")
        let form = try await FormData.read(request, context: context)
        _ = try context.formSession(form)
        _ = try await services.cancel(clusterUUID: cluster, uuid: uuid)
        return Response(status: .seeOther, headers: [.location: "/ui/services/\(cluster)/\(uuid)"])
    }

    // MARK: Runs

    @Sendable func runList(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = max(1, Int(QueryParameters(request)["page"] ?? "") ?? 1)
        let (list, more) = try await Self.onePage(
            ListQueryParser(schema: Tables.run).parse(q: nil, o: #"{"desc":"id"}"#, p: nil), page: page
        ) { try await runs.list($0) }
        return pages.page(
            "runs", title: "Runs", context: context,
            [
                "runs": list.map(Self.runRow), "empty": list.isEmpty,
                "pager": Self.pager(page: page, more: more, base: "/ui/runs", extra: [:]),
            ])
    }

    @Sendable func run(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "run")
        let (r, clusters) = try await runs.detail(uuid: uuid)
        let reduce = QueryParameters(request)["reduce"]
        var result: String?
        var resultError: String?
        do {
            result = Self.pretty(try await runs.result(uuid: uuid, reduce: reduce?.isEmpty == false ? reduce : nil))
        } catch let e as ClaiflowError {
            resultError = e.message
        }
        let waves = RunWave.waves(clusters, maxParallel: r.progress.maxParallel)
        var waveOf: [String: Int] = [:]
        for w in waves { for c in w.clusters { waveOf[c.clusterUUID] = w.number } }
        return pages.page(
            "run", title: "Run \(r.name)", context: context,
            [
                "run": Self.runRow(r), "reduce": reduce ?? "", "result": result as Any, "resultError": resultError as Any,
                "clusters": clusters.map { c -> [String: Any] in
                    [
                        "uuid": c.clusterUUID, "name": c.clusterName, "status": c.status.rawValue, "message": c.message ?? "",
                        "wave": waveOf[c.clusterUUID] ?? 0,
                    ]
                },
                "waves": Self.waveRows(waves), "hasWaves": !waves.isEmpty,
            ])
    }

    /// The waves of a run as the run page shows them: the wave of each cluster is on its grid
    /// cell (`data-wave`), so the script can recount a wave when a cell changes.
    static func waveRows(_ waves: [RunWave]) -> [[String: Any]] {
        waves.map { w in
            [
                "number": w.number, "size": w.clusters.count, "state": w.state.rawValue,
                "stateClass": w.state == .inProgress ? "in-progress" : w.state.rawValue,
                "done": w.clusters.filter { $0.status.isFinal }.count,
                "counts": RunCluster.Status.allCases.compactMap { s in
                    w.counts[s].map { ["status": s.rawValue, "count": $0] as [String: Any] }
                },
            ]
        }
    }

    // MARK: Views

    static func clusterRow(_ c: Cluster, _ session: ClusterSession?, now: Timestamp) -> [String: Any] {
        let connected = session.map { now < $0.expiresAt } ?? false
        return [
            "uuid": c.uuid, "name": c.name, "summary": c.summary ?? "", "paused": c.paused,
            "labels": c.labels.values.keys.sorted().map { ["key": $0, "value": c.labels.values[$0] ?? ""] },
            "connected": connected, "agentVersion": session?.clientVersion ?? "",
            "lastContact": session?.updated.description ?? "never",
        ]
    }

    static func serviceRow(_ d: ServiceDetail) -> [String: Any] {
        let s = d.service
        return [
            "uuid": s.uuid, "cluster": s.clusterUUID, "name": s.name, "status": s.status.name, "step": s.stepSeq,
            "steps": s.stepMax,
            "template": s.templateUUID, "created": s.created.description, "cancelRequested": s.cancelRequested,
            "run": s.runUUID ?? "",
        ]
    }

    static func runRow(_ r: Run) -> [String: Any] {
        let p = r.progress
        let wave = RunWave.summary(p)
        return [
            "uuid": r.uuid, "name": r.name, "selector": r.selector ?? "", "created": r.created.description,
            // The state's word (as the API shows it), with the color of the nearest status.
            "status": p.state.rawValue,
            "statusClass": p.state == .stopped ? "failed" : p.state.rawValue, "maxParallel": p.maxParallel,
            "total": p.total, "succeeded": p.succeeded, "failed": p.failed, "active": p.active, "held": p.held,
            "finished": p.succeeded + p.failed + p.expired + p.canceled, "wave": wave.current, "waves": wave.count,
        ]
    }

    static func pager(page: Int, more: Bool, base: String, extra: [String: String]) -> [String: Any] {
        func link(_ p: Int) -> String {
            var items = extra.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            items.append("page=\(p)")
            return base + "?" + items.joined(separator: "&")
        }
        var v: [String: Any] = ["page": page]
        if page > 1 { v["previous"] = link(page - 1) }
        if more { v["next"] = link(page + 1) }
        return v
    }

    static func pretty(_ v: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(v)).flatMap { String(data: $0, encoding: .utf8) } ?? v.serialized()
    }

    static func duration(_ microseconds: Int64) -> String {
        let ms = max(0, microseconds / 1000)
        return ms < 1000 ? "\(ms) ms" : String(format: "%.1f s", Double(ms) / 1000)
    }
}
