import ClaiflowQuery

/// The per-table whitelists of the list language: the only columns `q` and `o` may name, with
/// their types. Secret columns (token and key hashes) are deliberately absent.
public enum Tables {
    /// `GET /api/v1/global_variables`. `value` is absent: filtering on it would leak the signing secret.
    public static let globalVariable = TableSchema(
        name: "global_variable",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("created", .timestamp),
            ("updated", .timestamp),
        ])

    /// `GET /api/v1/cluster`. `paused` is 0 or 1; labels are chosen by the `selector` parameter.
    public static let cluster = TableSchema(
        name: "cluster",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("created", .timestamp),
            ("updated", .timestamp), ("paused", .integer),
        ])

    /// `GET /api/v1/cluster_token`.
    public static let clusterToken = TableSchema(
        name: "cluster_token",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("cluster_uuid", .text),
            ("issued_at_time", .timestamp), ("expiration_time", .timestamp), ("created", .timestamp),
            ("updated", .timestamp),
        ])

    /// `GET /api/v1/session`.
    public static let session = TableSchema(
        name: "session",
        columns: [
            ("id", .integer), ("uuid", .text), ("cluster_client_token_uuid", .text), ("cluster_uuid", .text),
            ("issued_at_time", .timestamp), ("expiration_time", .timestamp), ("client_version", .text),
            ("client_lib_version", .text), ("created", .timestamp), ("updated", .timestamp),
        ])

    /// `GET /api/v1/api_key`.
    public static let apiKey = TableSchema(
        name: "api_key",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("role", .text), ("prefix", .text),
            ("created", .timestamp),
        ])

    /// `GET /api/v1/template`.
    public static let template = TableSchema(
        name: "template",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("origin", .text),
            ("builtin", .integer), ("created", .timestamp), ("updated", .timestamp),
        ])

    /// `GET /api/v1/service`. `status` and `step_seq` are the current ones; `subscribed_channel`
    /// is the original's name of `webhook`; `run_uuid` is the fleet run a service belongs to.
    public static let service = TableSchema(
        name: "service",
        columns: [
            ("id", .integer), ("cluster_uuid", .text), ("uuid", .text), ("name", .text), ("summary", .text),
            ("template_uuid", .text), ("step_max", .integer), ("priority", .integer), ("webhook", .text),
            ("subscribed_channel", .text), ("status", .integer), ("step_seq", .integer), ("created", .timestamp),
            ("updated", .timestamp), ("run_uuid", .text),
        ])

    /// `GET /api/v1/run`.
    public static let run = TableSchema(
        name: "run",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("template_uuid", .text),
            ("selector", .text), ("webhook", .text), ("service_uuid", .text), ("intent", .text), ("total", .integer),
            ("created", .timestamp), ("updated", .timestamp), ("ended", .timestamp),
        ])

    /// `GET /api/v1/schedule`. `paused` is 0 or 1.
    public static let schedule = TableSchema(
        name: "schedule",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("cron", .text), ("timezone", .text),
            ("concurrency_policy", .text), ("paused", .integer), ("next_time", .timestamp), ("last_tick", .timestamp),
            ("last_skipped", .timestamp), ("created", .timestamp), ("updated", .timestamp),
        ])

    /// `GET /api/v1/webhook`. `headers` and `secret` are not filterable.
    public static let webhook = TableSchema(
        name: "webhook",
        columns: [
            ("id", .integer), ("uuid", .text), ("name", .text), ("summary", .text), ("url", .text), ("method", .text),
            ("timeout", .integer), ("condition_validator", .integer), ("condition_filter", .text),
            ("content_encoding", .text), ("created", .timestamp), ("updated", .timestamp),
        ])

    /// `GET /api/v1/webhook/{uuid}/delivery`.
    public static let delivery = TableSchema(
        name: "webhook_delivery",
        columns: [
            ("id", .integer), ("uuid", .text), ("cluster_uuid", .text), ("service_uuid", .text), ("status", .text),
            ("attempts", .integer), ("next_attempt", .timestamp), ("last_code", .integer), ("created", .timestamp),
            ("updated", .timestamp), ("delivered", .timestamp),
        ])
}
