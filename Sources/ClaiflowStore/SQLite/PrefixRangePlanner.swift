import ClaiflowQuery
import Synchronization

/// Chooses, on SQLite, whether a page filtered by a prefix `like` reads the column's
/// `COLLATE NOCASE` index or walks the table in the page's order.
///
/// SQLite as Debian builds it has no STAT4 statistics, so its planner cannot tell a prefix that
/// matches a handful of rows from one that matches a tenth of the table: it always takes the
/// index range, reads every match and sorts them for the page. For a broad prefix a walk in the
/// page's order (the primary key, or the `created` index) stops after about
/// `window × rows / matches` rows, far fewer. This planner measures instead: it counts the
/// prefix's index entries up to ``probeCap`` (a covering index scan that stops there) and reads
/// the table's size from its largest `id`, and then hides the column from the index (a unary `+`)
/// when `matches² × 2 ≥ window × rows`: the break-even of the two plans measured with `sqlite3` on
/// 100,000 clusters (a prefix of ~1,100 matches costs both plans ~0.2–0.3 ms for a page of 20).
///
/// A walk's worst case is a broad prefix whose matches all lie at the far end of the order: then
/// it reads the whole table. The choice is kept for ``lifetime`` per table, column, pattern and
/// page window, so repeated pages do not pay for the probe; a stale choice only costs time,
/// never changes the rows.
final class PrefixRangePlanner: Sendable {
    /// How many matching index entries a probe counts at most.
    static let probeCap = 4096
    private static let maxEntries = 1024
    /// How long a choice is reused.
    let lifetime: Duration

    private struct Key: Hashable {
        var table: String
        var column: String
        var pattern: String
        var window: Int
    }

    private struct Choice {
        var walk: Bool
        var expires: ContinuousClock.Instant
    }

    private let choices = Mutex<[Key: Choice]>([:])
    private let probes = Atomic<Int>(0)

    /// Probes run so far (a choice taken from the cache runs none).
    var probesRun: Int { probes.load(ordering: .relaxed) }

    /// A planner reusing each choice for `lifetime`.
    init(lifetime: Duration = .seconds(10)) {
        self.lifetime = lifetime
    }

    /// The first prefix pattern a `like` on `column` has at the top of `condition` (alone, or a
    /// term of its top-level `and`); nil when there is none or it starts with a wildcard.
    static func prefixPattern(_ condition: Condition?, column: String) -> String? {
        func pattern(_ c: Condition) -> String? {
            guard case .compare(column, .like, .text(let p)) = c, let first = p.first, first != "%", first != "_" else {
                return nil
            }
            return p
        }
        switch condition {
        case .some(.and(let items)): return items.lazy.compactMap(pattern).first
        case .some(let c): return pattern(c)
        case .none: return nil
        }
    }

    /// Whether the page should walk the table in its order instead of reading the prefix's index
    /// range: from the cache, or by a probe run with `db`.
    func shouldWalk(
        table: String, column: String, pattern: String, window: Int, db: any SQLExecutor
    ) async throws -> Bool {
        let key = Key(table: table, column: column, pattern: pattern, window: window)
        let now = ContinuousClock.now
        if let hit = choices.withLock({ $0[key] }), hit.expires > now { return hit.walk }
        probes.add(1, ordering: .relaxed)
        let row = try await db.first(
            """
            SELECT (SELECT max(id) FROM \(raw: table)) AS n, count(*) AS m FROM
                (SELECT 1 FROM \(raw: table) WHERE \(QueryRenderer.column(column)) LIKE \(bind: pattern) ESCAPE '\\'
                LIMIT \(bind: Self.probeCap))
            """)
        let rows = row?.optionalInteger("n") ?? 0
        let matches = row?.optionalInteger("m") ?? 0
        let walk = Self.walkIsCheaper(matches: matches, rows: rows, window: window)
        choices.withLock { c in
            if c.count >= Self.maxEntries { c.removeAll() }
            c[key] = Choice(walk: walk, expires: now + lifetime)
        }
        return walk
    }

    /// The break-even of the two plans (see the type's documentation).
    static func walkIsCheaper(matches: Int64, rows: Int64, window: Int) -> Bool {
        guard matches > window else { return false }
        return Double(matches) * Double(matches) * 2 >= Double(window) * Double(rows)
    }
}
