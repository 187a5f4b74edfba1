import ClaiflowCore

/// `Template` (new: the original had no template API). `flow` and `inputs` are JSON, not text.
struct TemplateWire: Encodable {
    let uuid: String
    let name: String
    let summary: String?
    let flow: JSONValue
    let inputs: JSONValue
    let origin: String
    let builtin: Bool
    let commands: [String]?
    let step_max: Int?
    let created: Timestamp
    let updated: Timestamp

    init(_ t: Template, info: FlowInfo?) {
        uuid = t.uuid
        name = t.name
        summary = t.summary
        flow = (try? JSONValue.parse(t.flow)) ?? .string(t.flow)
        inputs = (try? JSONValue.parse(t.inputs)) ?? .string(t.inputs)
        origin = t.origin
        builtin = t.builtin
        commands = info?.commands
        step_max = info?.stepMax
        created = t.created
        updated = t.updated
    }
}

/// `StatusResponse`.
struct StatusWire: Encodable {
    let step_seq: Int
    let status: Int
    let started: Timestamp?
    let ended: Timestamp?
    let message: String?
    let created: Timestamp

    init(_ s: ServiceStatusRecord) {
        step_seq = s.stepSeq
        status = s.status.rawValue
        started = s.started
        ended = s.ended
        message = s.message
        created = s.created
    }
}

/// `ResultResponse`.
struct ResultWire: Encodable {
    let save_type: Int
    let result: String
    let created: Timestamp

    init(_ r: ServiceResult) {
        save_type = r.saveType
        result = r.result
        created = r.created
    }
}

/// `ServiceResponse`: the original's fields (`flow` as JSON text, `inputs` always present,
/// `subscribed_channel`) plus `webhook` (the same value), the current `status` and `step_seq`,
/// `cancel_requested` when set, `updated`, and `run_uuid` (the fleet run the service belongs to,
/// `null` when none; operator responses only: the agent protocol's ``PolledService`` is the
/// original's).
struct ServiceWire: Encodable {
    let cluster_uuid: String
    let uuid: String
    let name: String
    let summary: String?
    let template_uuid: String
    let flow: String
    let inputs: JSONValue
    let step_max: Int
    let subscribed_channel: String?
    let webhook: String?
    let priority: Int
    let status: Int
    let step_seq: Int
    let cancel_requested: Bool?
    let timeout: String?
    let created: Timestamp
    let updated: Timestamp
    let run_uuid: JSONValue
    let statuses: [StatusWire]?
    let results: [ResultWire]?

    init(_ d: ServiceDetail) {
        let s = d.service
        cluster_uuid = s.clusterUUID
        uuid = s.uuid
        name = s.name
        summary = s.summary
        template_uuid = s.templateUUID
        flow = s.flow
        inputs = (try? JSONValue.parse(s.inputs)) ?? .null
        step_max = s.stepMax
        subscribed_channel = s.webhook
        webhook = s.webhook
        priority = s.priority
        status = s.status.rawValue
        step_seq = s.stepSeq
        cancel_requested = s.cancelRequested ? true : nil
        timeout = s.timeout?.description
        created = s.created
        updated = s.updated
        run_uuid = s.runUUID.map { .string($0) } ?? .null
        statuses = d.statuses.isEmpty ? nil : d.statuses.map(StatusWire.init)
        results = d.result.map { [ResultWire($0)] }
    }

    func encode(to encoder: Encoder) throws {
        enum K: String, CodingKey {
            case cluster_uuid, uuid, name, summary, template_uuid, flow, inputs, step_max, subscribed_channel, webhook
            case priority, status, step_seq, cancel_requested, timeout, created, updated, run_uuid, statuses, results
        }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(cluster_uuid, forKey: .cluster_uuid)
        try c.encode(uuid, forKey: .uuid)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(summary, forKey: .summary)
        try c.encode(template_uuid, forKey: .template_uuid)
        try c.encode(flow, forKey: .flow)
        try c.encode(inputs, forKey: .inputs)  // `null` when none were given, never omitted
        try c.encode(step_max, forKey: .step_max)
        try c.encodeIfPresent(subscribed_channel, forKey: .subscribed_channel)
        try c.encodeIfPresent(webhook, forKey: .webhook)
        try c.encode(priority, forKey: .priority)
        try c.encode(status, forKey: .status)
        try c.encode(step_seq, forKey: .step_seq)
        try c.encodeIfPresent(cancel_requested, forKey: .cancel_requested)
        try c.encodeIfPresent(timeout, forKey: .timeout)
        try c.encode(created, forKey: .created)
        try c.encode(updated, forKey: .updated)
        try c.encode(run_uuid, forKey: .run_uuid)  // `null` when the service belongs to no run
        try c.encodeIfPresent(statuses, forKey: .statuses)
        try c.encodeIfPresent(results, forKey: .results)
    }
}
