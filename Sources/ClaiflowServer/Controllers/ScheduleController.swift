import ClaiflowCore
import ClaiflowQuery
import ClaiflowStore
import Hummingbird

/// `/api/v1/schedule…`: schedules that start fleet runs.
struct ScheduleController {
    let useCases: ScheduleUseCases

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("schedule", use: create)
        group.get("schedule", use: list)
        group.get("schedule/{uuid}", use: get)
        group.put("schedule/{uuid}", use: update)
        group.delete("schedule/{uuid}", use: delete)
    }

    /// Reads the fields of a create or change body; every error names its field.
    static func fields(_ body: RequestBody, creating: Bool) throws(ClaiflowError) -> ScheduleUseCases.Fields {
        var f = ScheduleUseCases.Fields()
        f.name = try body.string("name", required: creating, allowEmpty: false)
        f.summary = try body.string("summary", maxLength: HTTPLimits.maxSummaryLength)
        if let text = try body.string("cron", required: creating, allowEmpty: false, maxLength: 1000) {
            f.cron = try CronSchedule(parsing: text)
        }
        f.timezone = try body.string("timezone", allowEmpty: false, maxLength: 200)
        if let run = body.json.field("run") {
            guard case .object = run else { throw ClaiflowError.invalidField("run", "must be an object, got \(run.typeName)") }
            f.run = run
        } else if creating {
            throw ClaiflowError.invalidField("run", "is required")
        }
        if let p = try body.string("concurrency_policy", maxLength: 100) {
            guard let policy = ScheduleConcurrencyPolicy(rawValue: p) else {
                throw ClaiflowError.invalidField("concurrency_policy", "must be allow, forbid or replace, got \"\(p)\"")
            }
            f.concurrencyPolicy = policy
        }
        f.paused = try body.bool("paused")
        if let d = try body.string("starting_deadline", maxLength: 100) {
            if d.isEmpty {
                f.startingDeadline = .some(nil)
            } else {
                guard let duration = GoDuration(parsing: d), duration >= .seconds(1) else {
                    throw ClaiflowError.invalidField(
                        "starting_deadline",
                        "must be a duration of at least 1s like \"30s\" or \"5m\" (\"\" for none), got \"\(d)\"")
                }
                f.startingDeadline = .some(duration)
            }
        }
        return f
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.read(request, context: context)
        let uuid = try body.identifier("uuid")
        let s = try await useCases.create(uuid: uuid, try Self.fields(body, creating: true))
        context.logger.notice("schedule created", metadata: ["schedule_uuid": .string(s.uuid)])
        return try JSONResponse.make(s.json(lastRuns: []), request: request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = try Handlers.listQuery(request, schema: Tables.schedule)
        return try JSONResponse.make(try await useCases.list(q).map { $0.json(lastRuns: nil) }, request: request)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await detail(uuid: try Handlers.pathID(context, "uuid", entity: "schedule"), request: request)
    }

    /// A schedule with its most recent runs.
    private func detail(uuid: String, request: Request) async throws -> Response {
        let (s, runs) = try await useCases.detail(uuid: uuid)
        return try JSONResponse.make(
            s.json(lastRuns: runs.map { ($0.uuid, $0.state.rawValue, $0.created) }), request: request)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "schedule")
        let body = try await RequestBody.read(request, context: context)
        _ = try await useCases.update(uuid: uuid, try Self.fields(body, creating: false))
        return try await detail(uuid: uuid, request: request)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let uuid = try Handlers.pathID(context, "uuid", entity: "schedule")
        try await useCases.delete(uuid: uuid)
        return try JSONResponse.ok(request)
    }
}
