import ClaiflowCore

extension Store {
    /// Seals again with the current key every stored secret that a previous key of `box` sealed
    /// (service inputs, webhook headers and signing secrets, schedules' run bodies), and seals values stored before
    /// encryption existed, in batches of `batch` rows, each
    /// batch one short transaction. Returns how many values changed. Values already under the
    /// current key are left alone, so running it again (or on several replicas) is harmless.
    public func reseal(with box: SecretBox, batch: Int = 500) async throws -> Int {
        var changed = 0
        for (table, columns) in [("service", ["inputs"]), ("webhook", ["headers", "secret"]), ("schedule", ["run"])] {
            var after: Int64 = 0
            while true {
                let from = after
                let (count, last, done) = try await write("secrets.reseal") { db in
                    let rows = try await db.query(
                        "SELECT id, \(raw: columns.joined(separator: ", ")) FROM \(raw: table) WHERE id > \(bind: from) ORDER BY id LIMIT \(bind: batch)"
                    )
                    var count = 0
                    for row in rows {
                        let id = try row.integer("id")
                        for column in columns {
                            let value = try row.text(column)
                            // Rows written before encryption existed are sealed too.
                            guard let fresh = value.hasPrefix("v1:") ? try box.resealed(value) : try box.seal(value) else {
                                continue
                            }
                            try await db.execute(
                                "UPDATE \(raw: table) SET \(raw: column) = \(bind: fresh) WHERE id = \(bind: id)")
                            count += 1
                        }
                    }
                    return (count, try rows.last?.integer("id"), rows.count < batch)
                }
                changed += count
                if done { break }
                after = last ?? after
            }
        }
        return changed
    }
}
