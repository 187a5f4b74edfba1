import ClaiflowCore
import Testing

@testable import ClaiflowQuery

private func asc(_ c: String) -> OrderTerm { OrderTerm(column: c, descending: false) }
private func desc(_ c: String) -> OrderTerm { OrderTerm(column: c, descending: true) }

@Suite("o: order")
struct OrderTests {
    @Test func singleDirection() throws {
        #expect(try cluster.parseOrder(#"{"asc":"name"}"#) == [asc("name")])
        #expect(try cluster.parseOrder(#"{"desc":"created"}"#) == [desc("created")])
        #expect(try cluster.parseOrder(#"{"ASC":"name"}"#) == [asc("name")])
        #expect(try cluster.parseOrder(#"{"Desc":["name"]}"#) == [desc("name")])
    }

    @Test func onlyLastColumnOfGroupGetsDirection() throws {
        #expect(
            try cluster.parseOrder(#"[{"asc":["name","id"]},{"desc":"created"}]"#) == [asc("name"), asc("id"), desc("created")])
        #expect(try cluster.parseOrder(#"{"desc":["name","uuid"]}"#) == [asc("name"), desc("uuid")])
        #expect(try cluster.parseOrder(#"{"desc":["name","uuid","id"]}"#) == [asc("name"), asc("uuid"), desc("id")])
        #expect(
            try cluster.parseOrder(#"[{"desc":["name","id"]},{"desc":["created","updated"]}]"#)
                == [asc("name"), desc("id"), asc("created"), desc("updated")])
    }

    @Test func nestedArraysAreFlattened() throws {
        #expect(try cluster.parseOrder(#"[[{"asc":"name"}],[[{"desc":"uuid"}]],[]]"#) == [asc("name"), desc("uuid")])
        #expect(try cluster.parseOrder(#"{"desc":[["name"],[["uuid"]]]}"#) == [asc("name"), desc("uuid")])
    }

    @Test func emptyOrAbsent() throws {
        #expect(try cluster.parseOrder(nil) == [])
        #expect(try cluster.parseOrder("") == [])
        #expect(try cluster.parseOrder("   ") == [])
        #expect(try cluster.parseOrder("[]") == [])
        #expect(try cluster.parseOrder("[[],[]]") == [])
    }

    @Test func sixteenTermsAreAllowed() throws {
        let cols = Array(repeating: #""name""#, count: 16).joined(separator: ",")
        let terms = try cluster.parseOrder("{\"asc\":[\(cols)]}")
        #expect(terms.count == 16)
        #expect(terms.last == asc("name"))
    }

    @Test func errors() {
        expectBadRequest(cluster, o: "{}", mentions: ["parameter o", "empty order object"])
        expectBadRequest(cluster, o: #"{"asc":"name","desc":"id"}"#, mentions: ["parameter o", "both asc and desc"])
        expectBadRequest(cluster, o: #"{"ASC":"name","desc":"id"}"#, mentions: ["both asc and desc"])
        expectBadRequest(cluster, o: #"{"asc":"name","asc":"id"}"#, mentions: ["exactly one key"])
        expectBadRequest(cluster, o: #"{"up":"name"}"#, mentions: [#"unknown order direction "up""#, "asc or desc"])
        expectBadRequest(cluster, o: #"{"ascending":"name"}"#, mentions: [#"unknown order direction "ascending""#])
        expectBadRequest(cluster, o: #"{"asc":5}"#, mentions: ["asc", "column name", "got a number"])
        expectBadRequest(cluster, o: #"{"desc":["name",null]}"#, mentions: ["desc", "got null"])
        expectBadRequest(cluster, o: #"{"asc":{"name":1}}"#, mentions: ["got an object"])
        expectBadRequest(cluster, o: #"{"asc":[]}"#, mentions: ["asc has no columns"])
        expectBadRequest(cluster, o: #""name""#, mentions: ["expected an order object", "got a string"])
        expectBadRequest(cluster, o: "[5]", mentions: ["expected an order object", "got a number"])
        expectBadRequest(cluster, o: "name", mentions: ["parameter o", "invalid JSON"])
        expectBadRequest(cluster, o: "(asc name)", mentions: ["parameter o", "invalid JSON"])
        expectBadRequest(
            cluster, o: #"[{"asc":"name"},{"desc":"step_max"}]"#,
            mentions: [#"unknown column "step_max""#, #"table "cluster""#, "id, uuid, name, summary, created, updated"])
    }

    @Test func tooManyTerms() {
        let cols = Array(repeating: #""name""#, count: 17).joined(separator: ",")
        expectBadRequest(cluster, o: "{\"asc\":[\(cols)]}", mentions: ["too many order columns", "16"])
        let objs = Array(repeating: #"{"desc":"id"}"#, count: 17).joined(separator: ",")
        expectBadRequest(cluster, o: "[\(objs)]", mentions: ["too many order columns"])
    }
}

@Suite("p: pagination")
struct PageTests {
    @Test func examples() throws {
        #expect(try service.parsePage(#"{"limit":10}"#) == Page(limit: 10, offset: 0))
        #expect(try service.parsePage(#"{"limit":10,"page":3}"#) == Page(limit: 10, offset: 20))
        #expect(try service.parsePage(#"{"page":2}"#) == Page(limit: 127, offset: 127))
        #expect(try service.parsePage(#"{"page":1}"#) == Page(limit: 127, offset: 0))
        #expect(try service.parsePage(#"{"limit":0,"page":3}"#) == Page(limit: 127, offset: 254))
    }

    @Test func keysAndValues() throws {
        #expect(try service.parsePage(#"{"LIMIT":"10","Page":"2"}"#) == Page(limit: 10, offset: 10))
        #expect(try service.parsePage(#"{"limit":10.9,"page":2.7}"#) == Page(limit: 10, offset: 10))
        #expect(try service.parsePage(#"{"limit":" 10.9 ","page":"3"}"#) == Page(limit: 10, offset: 20))
        #expect(try service.parsePage(#"{"limit":1e1}"#) == Page(limit: 10, offset: 0))
        #expect(try service.parsePage(#"{"limit":-0.5}"#) == Page(limit: 127, offset: 0))
        #expect(try service.parsePage(#"{"limit":1000}"#) == Page(limit: 1000, offset: 0))
    }

    @Test func laterEntriesOverride() throws {
        #expect(try service.parsePage(#"[{"limit":10},{"page":3}]"#) == Page(limit: 10, offset: 20))
        #expect(try service.parsePage(#"[{"limit":10},{"limit":20}]"#) == Page(limit: 20, offset: 0))
        #expect(try service.parsePage(#"[{"limit":10,"page":5},[{"page":2}]]"#) == Page(limit: 10, offset: 10))
        #expect(try service.parsePage(#"{"limit":10,"limit":30}"#) == Page(limit: 30, offset: 0))
        #expect(try service.parsePage("[]") == Page(limit: 127, offset: 0))
    }

    @Test func absent() throws {
        #expect(try service.parsePage(nil) == nil)
        #expect(try service.parsePage("  ") == nil)
        let limited = ListQueryParser(schema: serviceSchema, unpagedLimit: 500)
        #expect(try limited.parsePage(nil) == Page(limit: 500, offset: 0))
        #expect(try limited.parsePage("") == Page(limit: 500, offset: 0))
        #expect(try limited.parsePage(#"{"limit":5}"#) == Page(limit: 5, offset: 0))
    }

    @Test func customLimits() throws {
        let parser = ListQueryParser(schema: serviceSchema, defaultLimit: 20, maxLimit: 50)
        #expect(try parser.parsePage(#"{"page":3}"#) == Page(limit: 20, offset: 40))
        #expect(try parser.parsePage(#"{"limit":50}"#) == Page(limit: 50, offset: 0))
        expectBadRequest(parser, p: #"{"limit":51}"#, mentions: ["limit 51 exceeds the maximum of 50"])
    }

    @Test func errors() {
        expectBadRequest(p: #"{"limit":-1}"#, mentions: ["parameter p", "limit must not be negative", "-1"])
        expectBadRequest(p: #"{"limit":"-5"}"#, mentions: ["limit must not be negative"])
        expectBadRequest(p: #"{"page":0}"#, mentions: ["page must be at least 1", "got 0"])
        expectBadRequest(p: #"{"page":-3}"#, mentions: ["page must be at least 1", "-3"])
        expectBadRequest(p: #"{"page":0.5}"#, mentions: ["page must be at least 1"])
        expectBadRequest(p: "{}", mentions: ["parameter p", "empty pagination object"])
        expectBadRequest(p: #"[{"limit":5},{}]"#, mentions: ["empty pagination object"])
        expectBadRequest(p: #"{"offset":5}"#, mentions: [#"unknown pagination key "offset""#, "limit or page"])
        expectBadRequest(p: #"{"limit":5,"size":5}"#, mentions: [#"unknown pagination key "size""#])
        expectBadRequest(p: #"{"limit":1001}"#, mentions: ["limit 1001 exceeds the maximum of 1000"])
        expectBadRequest(p: #"{"limit":1e30}"#, mentions: ["exceeds the maximum of 1000"])
        expectBadRequest(p: #"{"limit":true}"#, mentions: ["limit must be a number", "got a boolean"])
        expectBadRequest(p: #"{"limit":null}"#, mentions: ["limit must be a number", "got null"])
        expectBadRequest(p: #"{"page":"two"}"#, mentions: ["page must be a number", #""two""#])
        expectBadRequest(p: #"{"page":""}"#, mentions: ["page must be a number"])
        expectBadRequest(p: #"{"limit":[10]}"#, mentions: ["limit must be a number", "got an array"])
        expectBadRequest(p: "5", mentions: ["expected a pagination object", "got a number"])
        expectBadRequest(p: #"["limit",5]"#, mentions: ["expected a pagination object", "got a string"])
        expectBadRequest(p: "limit=5", mentions: ["parameter p", "invalid JSON"])
    }

    @Test func hugePages() throws {
        let parser = ListQueryParser(schema: serviceSchema, defaultLimit: 100)
        #expect(try parser.parsePage(#"{"page":100001}"#) == Page(limit: 100, offset: 10_000_000))
        expectBadRequest(parser, p: #"{"page":100002}"#, mentions: ["page 100002 is too large", "10000000"])
        expectBadRequest(p: #"{"page":100000000}"#, mentions: ["page 100000000 is too large"])
        expectBadRequest(p: #"{"limit":1000,"page":9223372036854775807}"#, mentions: ["is too large"])
        expectBadRequest(p: #"{"page":1e30}"#, mentions: ["page 1e30 is too large"])
        expectBadRequest(p: #"{"page":"1e300"}"#, mentions: ["is too large"])
    }
}

@Suite("parse(q:o:p:)")
struct ListQueryTests {
    @Test func allThree() throws {
        let result = try service.parse(
            q: #"(and (eq cluster_uuid "abc") (in priority 0 2))"#, o: #"[{"asc":"priority"},{"desc":"created"}]"#,
            p: #"{"limit":10,"page":2}"#)
        #expect(
            result
                == ListQuery(
                    condition: .and([
                        .compare(column: "cluster_uuid", op: .eq, value: .text("abc")),
                        .inList(column: "priority", values: [.integer(0), .integer(2)]),
                    ]),
                    order: [asc("priority"), desc("created")],
                    page: Page(limit: 10, offset: 10)))
    }

    @Test func nothingGiven() throws {
        #expect(try service.parse(q: nil, o: nil, p: nil) == ListQuery(condition: nil, order: [], page: nil))
        let limited = ListQueryParser(schema: serviceSchema, unpagedLimit: 1000)
        #expect(try limited.parse(q: "", o: " ", p: "\n") == ListQuery(page: Page(limit: 1000, offset: 0)))
    }

    @Test func errorsNameTheParameter() {
        expectBadRequest(q: #"{"eq":{"nope":1}}"#, o: #"{"asc":"name"}"#, mentions: ["parameter q:"])
        expectBadRequest(q: #"{"eq":{"name":1}}"#, o: #"{"asc":"nope"}"#, mentions: ["parameter o:"])
        expectBadRequest(q: #"{"eq":{"name":1}}"#, o: #"{"asc":"name"}"#, p: "{}", mentions: ["parameter p:"])
    }

    @Test func schema() {
        #expect(serviceSchema.type(of: "step_max") == .integer)
        #expect(serviceSchema.type(of: "created") == .timestamp)
        #expect(serviceSchema.type(of: "name") == .text)
        #expect(serviceSchema.type(of: "Name") == nil)
        #expect(serviceSchema.type(of: "summary") == nil)
        #expect(serviceSchema.columnNames == ["cluster_uuid", "uuid", "name", "step_max", "priority", "created"])
        let dup = TableSchema(name: "t", columns: [("a", .integer), ("a", .text)])
        #expect(dup.type(of: "a") == .integer)
    }
}
