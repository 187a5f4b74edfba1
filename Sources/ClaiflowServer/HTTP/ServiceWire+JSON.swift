import ClaiflowCore

extension ServiceWire: JSONWritable {
    /// The members in the order of their keys' UTF-8 bytes, as ``ServiceWire/encode(to:)`` and
    /// the sorting encoder give them.
    func writeJSON(into out: inout [UInt8]) throws {
        var o = JSONObjectWriter(into: &out)
        if let cancel_requested {
            o.key("cancel_requested", into: &out)
            out.append(contentsOf: cancel_requested ? "true".utf8 : "false".utf8)
        }
        o.string("cluster_uuid", cluster_uuid, into: &out)
        o.timestamp("created", created, into: &out)
        o.string("flow", flow, into: &out)
        try o.encoded("inputs", inputs, into: &out)
        o.string("name", name, into: &out)
        o.integer("priority", priority, into: &out)
        try o.encoded("results", results, into: &out)
        try o.encoded("run_uuid", run_uuid, into: &out)
        o.integer("status", status, into: &out)
        if let statuses {
            o.key("statuses", into: &out)
            out.append(UInt8(ascii: "["))
            for (i, s) in statuses.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try s.writeJSON(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        o.integer("step_max", step_max, into: &out)
        o.integer("step_seq", step_seq, into: &out)
        o.string("subscribed_channel", subscribed_channel, into: &out)
        o.string("summary", summary, into: &out)
        o.string("template_uuid", template_uuid, into: &out)
        o.string("timeout", timeout, into: &out)
        o.timestamp("updated", updated, into: &out)
        o.string("uuid", uuid, into: &out)
        o.string("webhook", webhook, into: &out)
        o.end(into: &out)
    }
}

extension StatusWire: JSONWritable {
    func writeJSON(into out: inout [UInt8]) throws {
        var o = JSONObjectWriter(into: &out)
        o.timestamp("created", created, into: &out)
        o.timestamp("ended", ended, into: &out)
        o.string("message", message, into: &out)
        o.timestamp("started", started, into: &out)
        o.integer("status", status, into: &out)
        o.integer("step_seq", step_seq, into: &out)
        o.end(into: &out)
    }
}
