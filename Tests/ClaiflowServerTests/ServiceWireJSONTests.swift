import ClaiflowCore
import Testing

@testable import ClaiflowServer

/// A service answer written directly (``JSONWritable``) is byte for byte what the sorting
/// encoder writes for it.
@Suite("Service answer JSON")
struct ServiceWireJSONTests {
    static let at = Timestamp(microseconds: 1_700_000_000_123_456)

    static func detail(full: Bool) -> ServiceDetail {
        var s = Service(
            clusterUUID: "c1", uuid: "s\"1", name: "name with \\ and \n and é", summary: full ? "sum\u{1}mary" : nil,
            templateUUID: full ? "t1" : "", flow: #"[{"$id":"s1","$command":"echo"}]"#,
            inputs: full ? #"{"b":[1,2.5,{"z":null,"a":true}],"a":"x/y"}"# : "null", stepMax: 3,
            priority: full ? 2 : 0, webhook: full ? "hook" : nil, status: full ? .processing : .regist, stepSeq: full ? 2 : 0,
            cancelRequested: full, created: at, updated: at.adding(.seconds(1)))
        if full {
            s.runUUID = "run1"
            s.timeout = ServiceTimeout(.seconds(90))
        }
        let statuses =
            full
            ? [
                ServiceStatusRecord(stepMax: 3, stepSeq: 0, status: .regist, started: nil, ended: nil, message: nil, created: at),
                ServiceStatusRecord(
                    stepMax: 3, stepSeq: 1, status: .processing, started: at, ended: at.adding(.seconds(2)),
                    message: "ok \"quoted\"\t", created: at),
            ] : []
        return ServiceDetail(
            service: s, statuses: statuses, result: full ? ServiceResult(saveType: 1, result: "{\"r\":1}", created: at) : nil)
    }

    @Test("the direct JSON of a service equals the encoder's", arguments: [false, true])
    func sameBytes(full: Bool) throws {
        let wire = ServiceWire(Self.detail(full: full))
        var direct: [UInt8] = []
        try wire.writeJSON(into: &direct)
        let encoded = try JSONResponse.compact.encode(wire)
        #expect(String(decoding: direct, as: UTF8.self) == String(decoding: encoded, as: UTF8.self))
    }
}
