import ClaiflowCore
import ClaiflowStore
import Testing

/// Rows hold their values in column order; the names are shared by the result's rows.
@Suite("SQL rows")
struct SQLRowTests {
    @Test("values by lowercase column name; a repeated name gives its last value; missing is nil")
    func lookup() throws {
        let columns = SQLColumns(["ID", "name", "Created", "name", "note"])
        #expect(columns.names == ["id", "name", "created", "name", "note"])
        let row = SQLRow(columns: columns, values: [.integer(7), .text("a"), .integer(1_000_000), .text("b"), .null])
        #expect(try row.integer("id") == 7)
        #expect(try row.text("name") == "b")
        #expect(try row.timestamp("created") == Timestamp(microseconds: 1_000_000))
        #expect(row.optionalText("note") == nil)
        #expect(row["missing"] == nil)
        #expect(throws: StoreError.self) { try row.text("missing") }
        #expect(throws: StoreError.self) { try row.text("note") }
        #expect(row.values == ["id": .integer(7), "name": .text("b"), "created": .integer(1_000_000), "note": .null])
    }

    @Test("a row built from a dictionary reads the same")
    func dictionary() throws {
        let row = SQLRow(values: ["uuid": .text("u"), "n": .integer(3), "r": .real(1.5)])
        #expect(try row.text("uuid") == "u")
        #expect(try row.integer("n") == 3)
        #expect(try row.integer("r") == 1)
        #expect(row.optionalInteger("uuid") == nil)
    }
}
