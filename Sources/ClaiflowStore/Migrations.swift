import ClaiflowCore

/// The numbered schema migrations. Each runs once, in its own transaction, and is recorded in
/// `schema_migration`; a migration is never edited after release, only added.
///
/// Column conventions, the same on both stores: timestamps are `BIGINT` microseconds since the
/// Unix epoch (exact and portable), identifiers and names are `TEXT`, booleans are `BIGINT` 0/1.
enum Migrations {
    /// A numbered migration: DDL statements, then optional code (data seeding) in the same transaction.
    struct Migration: Sendable {
        let version: Int64
        let name: String
        /// `{ID}` is replaced by the dialect's auto-increment primary key.
        let statements: [String]
        /// Statements of one dialect only, run after `statements` (indexes whose form differs).
        var dialectStatements: [SQLDialect: [String]] = [:]
        var seed: (@Sendable (any SQLExecutor) async throws -> Void)? = nil
    }

    static let all: [Migration] = [
        Migration(
            version: 1, name: "operator API foundation",
            statements: [
                """
                CREATE TABLE global_variable (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT,
                    value TEXT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                """
                CREATE TABLE cluster (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                """
                CREATE TABLE cluster_token (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT,
                    cluster_uuid TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                    issued_at_time BIGINT NOT NULL, expiration_time BIGINT NOT NULL,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                "CREATE INDEX cluster_token_cluster ON cluster_token (cluster_uuid)",
                """
                CREATE TABLE cluster_session (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, cluster_uuid TEXT NOT NULL,
                    cluster_client_token_uuid TEXT NOT NULL, issued_at_time BIGINT NOT NULL,
                    expiration_time BIGINT NOT NULL, client_version TEXT, client_lib_version TEXT,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                "CREATE INDEX cluster_session_cluster ON cluster_session (cluster_uuid, expiration_time)",
                "CREATE INDEX cluster_session_token ON cluster_session (cluster_client_token_uuid)",
                """
                CREATE TABLE api_key (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created BIGINT NOT NULL)
                """,
            ]
        ),
        Migration(
            version: 2, name: "templates and services",
            statements: [
                """
                CREATE TABLE template (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT, flow TEXT NOT NULL,
                    inputs TEXT NOT NULL, origin TEXT NOT NULL, builtin BIGINT NOT NULL DEFAULT 0,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                """
                CREATE TABLE service (
                    id {ID}, cluster_uuid TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL, summary TEXT,
                    template_uuid TEXT NOT NULL, flow TEXT NOT NULL, inputs TEXT NOT NULL, step_max BIGINT NOT NULL,
                    priority BIGINT NOT NULL, webhook TEXT, status BIGINT NOT NULL, step_seq BIGINT NOT NULL,
                    cancel_requested BIGINT NOT NULL DEFAULT 0, created BIGINT NOT NULL, updated BIGINT NOT NULL,
                    CONSTRAINT service_cluster_uuid UNIQUE (cluster_uuid, uuid))
                """,
                "CREATE INDEX service_queue ON service (cluster_uuid, status, priority, created)",
                "CREATE INDEX service_created ON service (created)",
                """
                CREATE TABLE service_status (
                    id {ID}, cluster_uuid TEXT NOT NULL, uuid TEXT NOT NULL, step_max BIGINT NOT NULL,
                    step_seq BIGINT NOT NULL, status BIGINT NOT NULL, started BIGINT, ended BIGINT, message TEXT,
                    created BIGINT NOT NULL)
                """,
                "CREATE INDEX service_status_service ON service_status (cluster_uuid, uuid, id)",
                """
                CREATE TABLE service_result (
                    id {ID}, cluster_uuid TEXT NOT NULL, uuid TEXT NOT NULL, result_type BIGINT NOT NULL,
                    result TEXT NOT NULL, created BIGINT NOT NULL, CONSTRAINT service_result_service UNIQUE (cluster_uuid, uuid))
                """,
            ],
            seed: { db in try await DefaultTemplates.insert(into: db, now: .now()) }
        ),
        Migration(
            version: 3, name: "dispatch leases",
            statements: [
                "ALTER TABLE service ADD COLUMN session_uuid TEXT",
                "ALTER TABLE service ADD COLUMN lease_expires BIGINT",
                "ALTER TABLE service ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
                "CREATE INDEX service_lease ON service (status, lease_expires)",
                "CREATE INDEX service_status_created ON service (status, created)",
                "CREATE INDEX service_session ON service (session_uuid)",
            ]
        ),
        Migration(
            version: 4, name: "webhooks and their delivery outbox",
            statements: [
                """
                CREATE TABLE webhook (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT, url TEXT NOT NULL,
                    method TEXT NOT NULL, headers TEXT NOT NULL, timeout BIGINT NOT NULL DEFAULT 0,
                    condition_validator BIGINT NOT NULL DEFAULT 0, condition_filter TEXT, secret TEXT NOT NULL,
                    content_encoding TEXT NOT NULL DEFAULT 'identity', tls_verify BIGINT NOT NULL DEFAULT 1,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                """
                CREATE TABLE webhook_delivery (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, webhook_uuid TEXT NOT NULL, cluster_uuid TEXT NOT NULL,
                    service_uuid TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt BIGINT, lease_until BIGINT, last_code BIGINT, last_error TEXT,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL, delivered BIGINT)
                """,
                "CREATE INDEX webhook_delivery_due ON webhook_delivery (status, next_attempt)",
                "CREATE INDEX webhook_delivery_webhook ON webhook_delivery (webhook_uuid, id)",
                "CREATE INDEX webhook_delivery_order ON webhook_delivery (webhook_uuid, cluster_uuid, service_uuid, status, id)",
                "CREATE TABLE installation_key (id BIGINT PRIMARY KEY, value TEXT NOT NULL, created BIGINT NOT NULL)",
            ]
        ),
        // What the lists of a large fleet filter and order by, chosen from the query plans of
        // `claiflow-bench --large-fleet` (100,000 clusters, 1,000,000 services): clusters by name
        // prefix and by `created`; a cluster's services newest first (`id`) or by `created`; all
        // services of some status newest first. The name index is case-insensitive the way each
        // store's `like` is: SQLite's LIKE folds ASCII only, as `COLLATE NOCASE` does, so the
        // LIKE optimisation turns a prefix pattern into a range on it; PostgreSQL's `like` is
        // rendered `lower(name) LIKE lower(pattern)`, which a `text_pattern_ops` index on
        // `lower(name)` serves for a prefix pattern whatever the database's collation.
        Migration(
            version: 5, name: "indexes for large fleets",
            statements: [
                "CREATE INDEX cluster_created ON cluster (created)",
                "CREATE INDEX service_cluster_id ON service (cluster_uuid, id)",
                "CREATE INDEX service_cluster_created ON service (cluster_uuid, created)",
                "CREATE INDEX service_status_id ON service (status, id)",
            ],
            dialectStatements: [
                .sqlite: ["CREATE INDEX cluster_name_nocase ON cluster (name COLLATE NOCASE)"],
                .postgres: ["CREATE INDEX cluster_name_lower ON cluster (lower(name) text_pattern_ops)"],
            ]
        ),
        Migration(
            version: 6, name: "cluster labels and paused clusters",
            statements: [
                // The labels as the API shows them (a JSON object with sorted keys) …
                "ALTER TABLE cluster ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'",
                // … and one row per label, which label selectors are rendered over.
                """
                CREATE TABLE cluster_label (
                    cluster_uuid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (cluster_uuid, key))
                """,
                "CREATE INDEX cluster_label_key_value ON cluster_label (key, value, cluster_uuid)",
                "ALTER TABLE cluster ADD COLUMN paused BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE cluster ADD COLUMN paused_since BIGINT",
                // The few paused clusters, which the sweep and the claim skip, without reading the others.
                "CREATE INDEX cluster_paused ON cluster (uuid) WHERE paused = 1",
                // How far pauses of its cluster moved a service's validity clock: it started at
                // `created + validity_shift` (ServiceSweepRule.validityStart). 0 for every service
                // written without it, which is right for all of them.
                "ALTER TABLE service ADD COLUMN validity_shift BIGINT NOT NULL DEFAULT 0",
                "CREATE INDEX service_validity ON service (status, (created + validity_shift))",
            ]
        ),
        Migration(
            version: 7, name: "fleet runs",
            statements: [
                // A run and its counters (RunProgress), updated as its services end.
                """
                CREATE TABLE run (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT, template_uuid TEXT NOT NULL,
                    selector TEXT, strategy TEXT NOT NULL, webhook TEXT, include_paused BIGINT NOT NULL,
                    service_uuid TEXT NOT NULL, timeout_shift BIGINT NOT NULL, total BIGINT NOT NULL,
                    skipped BIGINT NOT NULL, held BIGINT NOT NULL, active BIGINT NOT NULL, succeeded BIGINT NOT NULL,
                    failed BIGINT NOT NULL, expired BIGINT NOT NULL, canceled BIGINT NOT NULL,
                    max_parallel BIGINT NOT NULL, max_failures BIGINT NOT NULL, intent TEXT NOT NULL,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL, ended BIGINT)
                """,
                "CREATE INDEX run_created ON run (created)",
                // Its target, resolved once: `held`, `released`, a terminal status name or `skipped`.
                """
                CREATE TABLE run_cluster (
                    run_uuid TEXT NOT NULL, position BIGINT NOT NULL, cluster_uuid TEXT NOT NULL,
                    cluster_name TEXT NOT NULL, labels TEXT NOT NULL, status TEXT NOT NULL, message TEXT,
                    started BIGINT, ended BIGINT, PRIMARY KEY (run_uuid, position),
                    CONSTRAINT run_cluster_cluster UNIQUE (run_uuid, cluster_uuid))
                """,
                "CREATE INDEX run_cluster_status ON run_cluster (run_uuid, status, position)",
                // A run's services; held ones (later waves) are not claimable until released.
                "ALTER TABLE service ADD COLUMN run_uuid TEXT",
                "ALTER TABLE service ADD COLUMN held BIGINT NOT NULL DEFAULT 0",
                "CREATE INDEX service_run ON service (run_uuid)",
            ]
        ),
        Migration(
            version: 8, name: "schedules",
            statements: [
                // A schedule: its run body (JSON) started at each tick of `cron` in `timezone`.
                // `next_time` is the next tick not yet handled; a replica claims a tick by moving
                // it on with a conditional UPDATE in the transaction that inserts the tick's run.
                """
                CREATE TABLE schedule (
                    id {ID}, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, summary TEXT, cron TEXT NOT NULL,
                    timezone TEXT NOT NULL, run TEXT NOT NULL, concurrency_policy TEXT NOT NULL,
                    paused BIGINT NOT NULL DEFAULT 0, starting_deadline BIGINT, next_time BIGINT NOT NULL,
                    last_tick BIGINT, last_skipped BIGINT, last_skip_reason TEXT,
                    created BIGINT NOT NULL, updated BIGINT NOT NULL)
                """,
                // The due schedules, earliest first, without reading the paused ones.
                "CREATE INDEX schedule_due ON schedule (next_time) WHERE paused = 0",
                // The runs a schedule started, and the tick each was started for.
                "ALTER TABLE run ADD COLUMN schedule_uuid TEXT",
                "ALTER TABLE run ADD COLUMN schedule_tick BIGINT",
                "CREATE INDEX run_schedule ON run (schedule_uuid, created)",
            ]
        ),
        Migration(
            version: 9, name: "service timeouts and flow v2 gating",
            statements: [
                // The service's `timeout` in microseconds (0: none), and when it ends: set at each
                // delivery (the claim), read by the sweep past it plus the grace period.
                "ALTER TABLE service ADD COLUMN timeout BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE service ADD COLUMN timeout_at BIGINT",
                "CREATE INDEX service_timeout ON service (status, timeout_at)",
                // Whether the flow uses the flow language v2 (FlowFeatures), computed at creation:
                // 0 no, 1 yes (only agents that run v2 flows may claim it), 2 yes and its status
                // history already says that it waits for such an agent.
                "ALTER TABLE service ADD COLUMN flow_v2 BIGINT NOT NULL DEFAULT 0",
            ]
        ),
        Migration(
            version: 10, name: "web console sessions",
            statements: [
                // A console sign-in: the SHA-256 of its cookie token, the API key it was made
                // from, and its CSRF token.
                """
                CREATE TABLE console_session (
                    id {ID}, token_hash TEXT NOT NULL UNIQUE, key_uuid TEXT NOT NULL, key_name TEXT NOT NULL,
                    role TEXT NOT NULL, csrf_token TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL)
                """,
                "CREATE INDEX console_session_expires ON console_session (expires)",
            ]
        ),
        Migration(
            version: 11, name: "a webhook's delivery log by status",
            statements: [
                // A webhook's deliveries of one status, newest first (the console's log filter):
                // without it SQLite walked the webhook's whole log for a status that few have.
                "CREATE INDEX webhook_delivery_status ON webhook_delivery (webhook_uuid, status, id)"
            ]
        ),
    ]

    static func idColumn(_ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        }
    }

    /// Applies the migrations not yet applied (up to version `through` when given, for tests of
    /// upgrades). Safe to run from several replicas at once on PostgreSQL (an advisory lock
    /// serialises them) and idempotent.
    static func run(on database: any SQLDatabase, through: Int64? = nil) async throws -> [Int64] {
        let dialect = database.dialect
        try await database.transaction { db in
            if dialect == .postgres { try await db.execute("SELECT pg_advisory_xact_lock(4242001)") }
            try await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)"
            )
        }
        var applied: [Int64] = []
        for migration in all where migration.version <= through ?? .max {
            let didApply = try await database.transaction { db -> Bool in
                if dialect == .postgres { try await db.execute("SELECT pg_advisory_xact_lock(4242001)") }
                let done = try await db.first("SELECT version FROM schema_migration WHERE version = \(bind: migration.version)")
                if done != nil { return false }
                for statement in migration.statements + (migration.dialectStatements[dialect] ?? []) {
                    let text = statement.replacingOccurrences(of: "{ID}", with: idColumn(dialect))
                    try await db.execute(SQL(stringLiteral: text))
                }
                try await migration.seed?(db)
                try await db.execute(
                    """
                    INSERT INTO schema_migration (version, name, applied)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: .timestamp(.now())))
                    """)
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }
}
