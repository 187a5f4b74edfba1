import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Testing

@Suite("Service API")
struct ServiceAPITests {
    static let podsGet = "00000000000000000000000000000001"

    static func setUp(_ s: TestServer, clusters: [String] = ["c1", "c2"]) async throws {
        for c in clusters {
            #expect(try await s.request(.POST, "/api/v1/cluster", json: #"{"uuid":"\#(c)","name":"\#(c)"}"#).status == 200)
        }
    }

    @Test("create on one cluster from a default template: initial status, inputs validated", arguments: StoreKind.available)
    func createOne(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            try await Self.setUp(s)
            let created = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"svc1","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"default","name":"web-0"}}"#)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.string("name") == "kubernetes_pods_get")
            #expect(created.json?.field("step_max") == .integer(1))
            #expect(created.json?.field("priority") == .integer(0))
            #expect(created.json?.field("status") == .integer(0))
            #expect(created.string("flow")?.contains("kubernetes.pods.get.v1") == true)
            #expect(created.json?.field("inputs")?.field("name") == .string("web-0"))
            let statuses = created.json?.field("statuses")
            #expect(
                statuses
                    == .array([
                        .object([
                            "step_seq": .integer(0), "status": .integer(0), "created": created.json?.field("created") ?? .null,
                        ])
                    ]))

            let got = try await s.request(.GET, "/api/v1/cluster/c1/service/svc1")
            #expect(got.json == created.json)
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/svc1/result").status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/c2/service/svc1").status == 404)

            let bad = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"default"}}"#)
            #expect(bad.status == 400)
            #expect(bad.message.contains("\"inputs\""))
            #expect(bad.message.contains("name"))
            let wrongType = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"template_uuid":"\#(Self.podsGet)","inputs":{"namespace":7,"name":"x"}}"#)
            #expect(wrongType.status == 400)
            #expect(wrongType.message.contains("/namespace"))
            let dup = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"svc1","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#)
            #expect(dup.status == 409)
        }
    }

    @Test("create on many clusters: all or none, the same uuid on each, cluster_uuid as string or array")
    func createMany() async throws {
        try await TestServer.with { s in
            try await Self.setUp(s, clusters: ["c1", "c2", "c3"])
            #expect(
                try await s.request(
                    .POST, "/api/v1/webhook", json: #"{"uuid":"hook1","name":"h","url":"http://127.0.0.1:9/x","method":"POST"}"#
                ).status == 200)
            let noHook = try await s.request(
                .POST, "/api/v1/service",
                json:
                    #"{"cluster_uuids":["c1"],"template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"},"webhook":"nope"}"#
            )
            #expect(noHook.status == 400)
            #expect(noHook.message.contains("\"webhook\""))
            let body =
                #"{"cluster_uuids":["c1","c2","c3"],"uuid":"many","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"},"subscribed_channel":"hook1"}"#
            let created = try await s.request(.POST, "/api/v1/service", json: body)
            #expect(created.status == 200, "\(created.body)")
            #expect(created.array.map { $0.field("cluster_uuid") } == [.string("c1"), .string("c2"), .string("c3")])
            #expect(created.array.allSatisfy { $0.field("uuid") == .string("many") && $0.field("webhook") == .string("hook1") })
            // one cluster unknown: nothing is created
            let partial = try await s.request(
                .POST, "/api/v1/service",
                json:
                    #"{"cluster_uuids":["c1","ghost"],"uuid":"p","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#
            )
            #expect(partial.status == 400)
            #expect(partial.message.contains("ghost"))
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/p").status == 404)
            // a uuid already on one of them: nothing is created
            let clash = try await s.request(
                .POST, "/api/v1/service",
                json:
                    #"{"cluster_uuid":["c3","c1"],"uuid":"many","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#
            )
            #expect(clash.status == 409)
            let single = try await s.request(
                .POST, "/api/v1/service",
                json: #"{"cluster_uuid":"c2","template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#)
            #expect(single.array.count == 1)
            let twice = try await s.request(
                .POST, "/api/v1/service",
                json: #"{"cluster_uuids":["c1","c1"],"template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#)
            #expect(twice.status == 400)
        }
    }

    @Test("inline flows, priority, system templates run high")
    func inlineAndPriority() async throws {
        try await TestServer.with { s in
            try await Self.setUp(s)
            let inline = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json:
                    #"{"uuid":"i1","name":"adhoc","flow":[{"$id":"a","$command":"claiflow.echo","inputs":{"x":"$inputs.x"}},{"$id":"b","$command":"claiflow.echo","inputs":"$a.outputs"}],"inputs":{"x":1},"priority":1}"#
            )
            #expect(inline.status == 200, "\(inline.body)")
            #expect(inline.string("template_uuid") == "")
            #expect(inline.json?.field("step_max") == .integer(2))
            #expect(inline.json?.field("priority") == .integer(1))
            let badFlow = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"flow":[{"$id":"a","$command":"x","inputs":"$b.outputs"}]}"#)
            #expect(badFlow.status == 400)
            #expect(badFlow.message.contains("\"flow\""))
            let both = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"template_uuid":"\#(Self.podsGet)","flow":[{"$id":"a","$command":"x"}]}"#)
            #expect(both.status == 400)
            let rebounce = try await s.request(
                .POST, "/api/v1/cluster/c1/service", json: #"{"template_uuid":"99990000000000000000000000000001"}"#)
            #expect(rebounce.json?.field("priority") == .integer(2), "\(rebounce.body)")
            let unknown = try await s.request(.POST, "/api/v1/cluster/c1/service", json: #"{"template_uuid":"nope"}"#)
            #expect(unknown.status == 400)
            #expect(unknown.message.contains("template_uuid"))
            let noCluster = try await s.request(
                .POST, "/api/v1/cluster/ghost/service",
                json: #"{"template_uuid":"\#(Self.podsGet)","inputs":{"namespace":"a","name":"b"}}"#)
            #expect(noCluster.status == 400)
            #expect(noCluster.message.contains("cluster_uuid"))
            #expect(
                try await s.request(
                    .POST, "/api/v1/cluster/c1/service", json: #"{"template_uuid":"\#(Self.podsGet)","priority":7}"#
                ).status == 400)
        }
    }

    @Test("list: default page of 20, q/o/p, status filter, statuses per row, no inputs bleeding between rows")
    func list() async throws {
        try await TestServer.with { s in
            try await Self.setUp(s, clusters: ["c1"])
            for i in 0..<25 {
                let inputs = i % 2 == 0 ? #"{"x":\#(i)}"# : #"{"y":\#(i)}"#
                let r = try await s.request(
                    .POST, "/api/v1/cluster/c1/service",
                    json: #"{"uuid":"s\#(i)","flow":[{"$id":"a","$command":"claiflow.echo"}],"inputs":\#(inputs)}"#)
                #expect(r.status == 200)
            }
            let page = try await s.request(.GET, "/api/v1/service")
            #expect(page.array.count == 20)
            #expect(page.array.allSatisfy { $0.field("statuses") != nil })
            for row in page.array {
                guard case .object(let inputs) = row.field("inputs") else {
                    Issue.record("no inputs")
                    continue
                }
                #expect(inputs.count == 1)
            }
            let filtered = try await s.request(
                .GET, TestServer.query("/api/v1/service", q: #"(in uuid "s1" "s2")"#, o: #"{"desc":"uuid"}"#))
            #expect(filtered.array.map { $0.field("uuid") } == [.string("s2"), .string("s1")])
            _ = try await s.request(.POST, "/api/v1/cluster/c1/service/s3/cancel")
            let canceled = try await s.request(.GET, "/api/v1/service?status=canceled")
            #expect(canceled.array.map { $0.field("uuid") } == [.string("s3")])
            let byQ = try await s.request(.GET, TestServer.query("/api/v1/service", q: #"{"eq":{"status":16}}"#))
            #expect(byQ.array.count == 1)
            #expect(try await s.request(.GET, "/api/v1/service?status=done").status == 400)
            let p2 = try await s.request(.GET, TestServer.query("/api/v1/service", p: #"{"limit":10,"page":3}"#))
            #expect(p2.array.count == 5)
        }
    }

    @Test("cancel: a queued service ends canceled at once; a delivered one records the request; a finished one is a 409")
    func cancel() async throws {
        try await TestServer.with { s in
            try await Self.setUp(s, clusters: ["c1"])
            for id in ["q", "d"] {
                _ = try await s.request(
                    .POST, "/api/v1/cluster/c1/service", json: #"{"uuid":"\#(id)","flow":[{"$id":"a","$command":"x"}]}"#)
            }
            let canceled = try await s.request(.POST, "/api/v1/cluster/c1/service/q/cancel")
            #expect(canceled.json?.field("status") == .integer(16))
            guard case .array(let history) = canceled.json?.field("statuses") else {
                Issue.record("no statuses")
                return
            }
            #expect(history.map { $0.field("status") } == [.integer(0), .integer(16)])
            #expect(try await s.request(.POST, "/api/v1/cluster/c1/service/q/cancel").status == 409)
            #expect(try await s.request(.POST, "/api/v1/cluster/c1/service/none/cancel").status == 404)

            // Simulate a delivery (the dispatch milestone does this through the agent API).
            _ = try await s.store.database.transaction { db in
                try await db.execute("UPDATE service SET status = 1 WHERE uuid = 'd'")
            }
            let requested = try await s.request(.POST, "/api/v1/cluster/c1/service/d/cancel")
            #expect(requested.json?.field("status") == .integer(1))
            #expect(requested.json?.field("cancel_requested") == .bool(true))

            // A succeeded service shows its result (written by the agent protocol in the dispatch milestone).
            try await s.store.database.transaction { db in
                try await db.execute("UPDATE service SET status = 4 WHERE uuid = 'd'")
                try await db.execute(
                    "INSERT INTO service_result (cluster_uuid, uuid, result_type, result, created) VALUES ('c1', 'd', 1, '{\"ok\":true}', 5)"
                )
            }
            let result = try await s.request(.GET, "/api/v1/cluster/c1/service/d/result")
            #expect(result.status == 200)
            #expect(
                result.json
                    == .object([
                        "save_type": .integer(1), "result": .string("{\"ok\":true}"),
                        "created": .string("1970-01-01T00:00:00.000005Z"),
                    ]))
            let detail = try await s.request(.GET, "/api/v1/cluster/c1/service/d")
            #expect(detail.json?.field("results") == .array([result.json ?? .null]))
            #expect(try await s.request(.POST, "/api/v1/cluster/c1/service/d/cancel").status == 409)
        }
    }

    @Test("deleting a cluster deletes its services with their history", arguments: StoreKind.available)
    func deleteCluster(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            try await Self.setUp(s)
            for c in ["c1", "c2"] {
                _ = try await s.request(
                    .POST, "/api/v1/cluster/\(c)/service", json: #"{"uuid":"x","flow":[{"$id":"a","$command":"x"}]}"#)
            }
            #expect(try await s.request(.DELETE, "/api/v1/cluster/c1").status == 200)
            #expect(try await s.request(.GET, "/api/v1/cluster/c1/service/x").status == 404)
            #expect(try await s.request(.GET, "/api/v1/cluster/c2/service/x").status == 200)
            let leftovers = try await s.store.database.read { db in
                try await db.query("SELECT id FROM service_status WHERE cluster_uuid = 'c1'")
            }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("the default patch templates accept a patch (their schema is fixed) and check its shape")
    func patchTemplates() async throws {
        try await TestServer.with { s in
            try await Self.setUp(s, clusters: ["c1"])
            let patch = "00000000000000000000000000001012"
            let merge = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json:
                    #"{"template_uuid":"\#(patch)","inputs":{"namespace":"default","name":"web","patch_type":"merge","patch_data":{"spec":{"replicas":3}}}}"#
            )
            #expect(merge.status == 200, "\(merge.body)")
            let json = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json:
                    #"{"template_uuid":"\#(patch)","inputs":{"namespace":"default","name":"web","patch_type":"json","patch_data":[{"op":"replace","path":"/spec/replicas","value":3}]}}"#
            )
            #expect(json.status == 200, "\(json.body)")
            let wrongShape = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json:
                    #"{"template_uuid":"\#(patch)","inputs":{"namespace":"default","name":"web","patch_type":"json","patch_data":{"spec":{}}}}"#
            )
            #expect(wrongShape.status == 400)
            #expect(wrongShape.message.contains("/patch_data"))
            let missing = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"template_uuid":"\#(patch)","inputs":{"namespace":"default","name":"web","patch_type":"merge"}}"#)
            #expect(missing.status == 400)
            #expect(missing.message.contains("patch_data"))
            let extra = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json:
                    #"{"template_uuid":"\#(patch)","inputs":{"namespace":"default","name":"web","patch_type":"merge","patch_data":{},"oops":1}}"#
            )
            #expect(extra.status == 400)
        }
    }

    @Test("service inputs are encrypted at rest and shown in clear through the API and to agents", arguments: StoreKind.available)
    func inputsEncrypted(kind: StoreKind) async throws {
        try await TestServer.with(kind) { s in
            try await Self.setUp(s, clusters: ["c1"])
            let created = try await s.request(
                .POST, "/api/v1/cluster/c1/service",
                json: #"{"uuid":"cred","flow":[{"$id":"a","$command":"claiflow.echo"}],"inputs":{"password":"hunter2-secret"}}"#)
            #expect(created.json?.field("inputs")?.field("password") == .string("hunter2-secret"))
            let raw = try await s.store.database.read { db in try await db.query("SELECT inputs FROM service WHERE uuid = 'cred'")
            }
            let stored = try #require(raw.first?.optionalText("inputs"))
            #expect(stored.hasPrefix("v1:"))
            #expect(!stored.contains("hunter2"))
            let got = try await s.request(.GET, "/api/v1/cluster/c1/service/cred")
            #expect(got.json?.field("inputs")?.field("password") == .string("hunter2-secret"))
            let listed = try await s.request(.GET, "/api/v1/service")
            #expect(listed.body.contains("hunter2-secret"))
        }
    }
}
