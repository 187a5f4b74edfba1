import ClaiflowAPIClient
import ClaiflowCore
import Foundation

/// The `-o table` / `-o wide` columns of each resource.
public enum ResourceTables {
    /// A service status as its word (`succeeded`), not its number.
    public static func word(_ status: Components.Schemas.ServiceStatus) -> String {
        ServiceStatus(rawValue: status.rawValue)?.name ?? String(status.rawValue)
    }

    /// The labels as `k=v,k2=v2` (sorted), `<none>` when there are none.
    static func labels(_ labels: [String: String]) -> String {
        labels.isEmpty ? "<none>" : labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The age of an API timestamp given as text.
    static func age(_ text: String?, now: Date) -> String {
        guard let text, let ts = Timestamp(parsing: text) else { return "" }
        return RelativeAge.format(ts.date, now: now)
    }

    /// Clusters.
    public static func clusters(_ rows: [Components.Schemas.Cluster], wide: Bool, now: Date = Date()) -> Table {
        var header = ["uuid", "name", "status", "labels", "age"]
        if wide { header += ["summary", "updated"] }
        return Table(
            header: header,
            rows: rows.map { c in
                var row = [
                    c.uuid, c.name, c.paused ? "paused" : "active", labels(c.labels.additionalProperties),
                    RelativeAge.format(c.created, now: now),
                ]
                if wide { row += [c.summary ?? "", RelativeAge.format(c.updated, now: now)] }
                return row
            })
    }

    /// Cluster tokens (never their secret).
    public static func tokens(_ rows: [Components.Schemas.ClusterToken], wide: Bool, now: Date = Date()) -> Table {
        var header = ["uuid", "name", "cluster", "expires", "age"]
        if wide { header += ["issued", "summary"] }
        return Table(
            header: header,
            rows: rows.map { t in
                let expires = t.expirationTime <= now ? "expired" : "in " + RelativeAge.format(now, now: t.expirationTime)
                var row = [t.uuid, t.name, t.clusterUuid, expires, RelativeAge.format(t.created, now: now)]
                if wide { row += [Timestamp(t.issuedAtTime).rfc3339, t.summary ?? ""] }
                return row
            })
    }

    /// Templates.
    public static func templates(_ rows: [Components.Schemas.Template], wide: Bool, now: Date = Date()) -> Table {
        var header = ["uuid", "name", "origin", "steps", "age"]
        if wide { header += ["builtin", "commands"] }
        return Table(
            header: header,
            rows: rows.map { t in
                var row = [
                    t.uuid, t.name, t.origin, t.stepMax.map(String.init) ?? String(t.flow.count),
                    RelativeAge.format(t.created, now: now),
                ]
                if wide { row += [t.builtin ? "yes" : "no", (t.commands ?? []).joined(separator: ",")] }
                return row
            })
    }

    /// Services: status as a word, step as n/m.
    public static func services(_ rows: [Components.Schemas.Service], wide: Bool, now: Date = Date()) -> Table {
        var header = ["cluster", "uuid", "name", "status", "step", "age"]
        if wide { header += ["template", "priority", "updated", "message"] }
        return Table(
            header: header,
            rows: rows.map { s in
                var row = [s.clusterUuid, s.uuid, s.name, word(s.status), step(s), RelativeAge.format(s.created, now: now)]
                if wide {
                    let message = s.statuses?.last(where: { $0.message != nil })?.message ?? ""
                    row += [s.templateUuid, String(s.priority.rawValue), RelativeAge.format(s.updated, now: now), message]
                }
                return row
            })
    }

    /// `n/m`: the current step (1-based while running; all done when succeeded) of the steps.
    public static func step(_ s: Components.Schemas.Service) -> String {
        let done = s.status == ._4 ? s.stepMax : min(s.stepSeq + 1, max(s.stepMax, 1))
        return "\(done)/\(s.stepMax)"
    }

    /// Runs.
    public static func runs(_ rows: [Components.Schemas.Run], wide: Bool, now: Date = Date()) -> Table {
        var header = ["uuid", "name", "state", "succeeded", "failed", "running", "pending", "total", "age"]
        if wide { header += ["selector", "template", "service"] }
        return Table(
            header: header,
            rows: rows.map { r in
                let c = r.counts
                var row = [
                    r.uuid ?? "", r.name ?? "", r.state?.rawValue ?? "", "\(c?.succeeded ?? 0)",
                    "\((c?.failed ?? 0) + (c?.expired ?? 0) + (c?.canceled ?? 0))", "\(c?.running ?? 0)", "\(c?.pending ?? 0)",
                    "\(c?.total ?? 0)", age(r.created, now: now),
                ]
                if wide { row += [r.selector ?? "", r.templateUuid ?? "", r.serviceUuid ?? ""] }
                return row
            })
    }

    /// The clusters of one run.
    public static func runClusters(_ rows: [Components.Schemas.RunClusterEntry], wide: Bool, now: Date = Date()) -> Table {
        var header = ["cluster", "name", "status", "message"]
        if wide { header += ["service", "started", "ended"] }
        return Table(
            header: header,
            rows: rows.map { c in
                var row = [c.clusterUuid ?? "", c.clusterName ?? "", c.status?.rawValue ?? "", c.message ?? ""]
                if wide { row += [c.serviceUuid ?? "", age(c.started, now: now), age(c.ended, now: now)] }
                return row
            })
    }

    /// API keys (never the key).
    public static func apiKeys(_ rows: [Components.Schemas.APIKey], wide: Bool, now: Date = Date()) -> Table {
        Table(
            header: ["uuid", "name", "role", "prefix", "age"],
            rows: rows.map { k in [k.uuid, k.name, k.role.rawValue, k.prefix, RelativeAge.format(k.created, now: now)] })
    }

    /// Global variables.
    public static func globalVariables(_ rows: [Components.Schemas.GlobalVariable], wide: Bool, now: Date = Date()) -> Table {
        var header = ["uuid", "name", "value"]
        if wide { header += ["summary", "updated"] }
        return Table(
            header: header,
            rows: rows.map { v in
                var row = [v.uuid, v.name, v.value]
                if wide { row += [v.summary ?? "", RelativeAge.format(v.updated, now: now)] }
                return row
            })
    }

    /// Webhooks.
    public static func webhooks(_ rows: [Components.Schemas.Webhook], wide: Bool, now: Date = Date()) -> Table {
        Table(
            header: ["uuid", "name", "method", "url", "age"],
            rows: rows.map { w in [w.uuid, w.name, w.method.rawValue, w.url, RelativeAge.format(w.created, now: now)] })
    }

    /// Schedules: the next tick as a time to come, the newest run's state (only `get` has runs).
    public static func schedules(_ rows: [Components.Schemas.Schedule], wide: Bool, now: Date = Date()) -> Table {
        var header = ["name", "cron", "timezone", "policy", "paused", "next", "last run", "age"]
        if wide { header += ["uuid", "deadline", "last tick", "last skipped", "summary"] }
        return Table(
            header: header,
            rows: rows.map { s in
                var row = [
                    s.name ?? "", s.cron ?? "", s.timezone ?? "", s.concurrencyPolicy?.rawValue ?? "",
                    s.paused == true ? "yes" : "no", upcoming(s.next?.first, now: now),
                    s.lastRuns?.first?.state?.rawValue ?? "", age(s.created, now: now),
                ]
                if wide {
                    row += [
                        s.uuid ?? "", s.startingDeadline ?? "", age(s.lastTick, now: now), age(s.lastSkipped, now: now),
                        s.summary ?? "",
                    ]
                }
                return row
            })
    }

    /// A time to come given as text: `in 5m` (`now` once it is due), empty when there is none.
    static func upcoming(_ text: String?, now: Date) -> String {
        guard let text, let ts = Timestamp(parsing: text) else { return "" }
        return ts.date <= now ? "now" : "in " + RelativeAge.format(now, now: ts.date)
    }
}
