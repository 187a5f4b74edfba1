import ClaiflowCore
import Foundation
import NIOCore

/// The fleet-run dispatch benchmark (issue 14, item 7): N simulated REST agents (one cluster
/// each) keep a long poll parked; one run over all of them (`max_parallel` M, a one-step flow)
/// is created, the agents take its services as they are released, report `processing` and
/// `succeeded` (result `{"pods":3}`), and the benchmark measures the time of the create request,
/// the time until the run has completed, and the time of its reduced result
/// (`GET /api/v1/run/{uuid}/result?reduce=map(.result.pods)|add`).
struct RunDispatchBench {
    let databaseURL: String
    let agents: Int
    let maxParallel: Int
    /// Reads of the reduced result (and of the run) after it completed.
    var reads = 5

    /// The reduce program, and the value it must answer.
    static let reduce = "map(.result.pods) | add"

    struct Figures {
        var parked: Int
        /// The `POST /api/v1/run` request, ms.
        var createMilliseconds: Double
        /// From just before the create request to the moment the last `succeeded` report was
        /// answered (the report that ends the run), s.
        var completeSeconds: Double
        /// The run's `ended` − `created` as the server recorded them, s.
        var serverSeconds: Double
        /// `GET /api/v1/run/{uuid}/result?reduce=…`, ms: median and slowest of `reads`.
        var reduceP50: Double
        var reduceMax: Double
        /// `GET /api/v1/run/{uuid}` (every cluster with its status), ms: median of `reads`.
        var detailP50: Double
        /// The most services the agents held at once (picked up, `succeeded` not yet sent).
        var peakInFlight: Int
        /// The run's state at the end and the reduce program's answer.
        var state: String
        var reduced: String
        /// Errors by kind (phase: kind).
        var errors: [String: Int]
    }

    func run() async throws -> Figures {
        let server = try await BenchServerProcess.start(databaseURL: databaseURL)
        let fleet = try await BenchFleet.enroll(on: server, count: agents, transport: .rest)
        let admin = server.auth
        let pickups = DispatchBench.Pickups()
        let loop = fleet.start(pickups, result: #"{"pods":3}"#)
        let (parked, parkTime) = try await fleet.waitParked(pickups)
        print("  server pid \(server.pid): \(parked) of \(agents) parked in \(String(format: "%.1f", parkTime)) s")

        pickups.enter("create")
        let uuid = Identifier.generate()
        let targets = fleet.clusters.map { "\"\($0)\"" }.joined(separator: ",")
        let body =
            #"{"uuid":"\#(uuid)","name":"dispatch bench","flow":[{"$id":"s","$command":"noop"}],"cluster_uuids":[\#(targets)],"#
            + #""strategy":{"max_parallel":\#(maxParallel)}}"#
        let sent = ContinuousClock.now
        let (status, answer) = try await fleet.call(.POST, "/api/v1/run", body, admin)
        let createMilliseconds = BenchFleet.seconds(ContinuousClock.now - sent) * 1000
        if status != 200 {
            pickups.failed("create run: HTTP \(status) \(String(buffer: answer).prefix(200))")
        }

        pickups.enter("run")
        // The report that ends the last service ends the run in its transaction: the run has
        // completed when the agents' last `succeeded` report was answered.
        let deadline = ContinuousClock.now + .seconds(600)
        while status == 200, pickups.finishedCount < agents, ContinuousClock.now < deadline {
            if pickups.failedCount > 0, pickups.finishedCount + pickups.failedCount >= agents { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        let completeSeconds = BenchFleet.seconds(ContinuousClock.now - sent)
        if pickups.finishedCount < agents { pickups.failed("run: \(agents - pickups.finishedCount) services did not succeed") }

        pickups.enter("read")
        func timed(_ path: String) async throws -> (Double, Int, ByteBuffer) {
            let t0 = ContinuousClock.now
            let (status, body) = try await fleet.call(.GET, path, nil, admin)
            if status != 200 { pickups.failed("GET \(path.prefix(40)): HTTP \(status)") }
            return (BenchFleet.seconds(ContinuousClock.now - t0) * 1000, status, body)
        }
        let reducePath =
            "/api/v1/run/\(uuid)/result?reduce="
            + (Self.reduce.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? Self.reduce)
        var reduceTimes: [Double] = []
        var detailTimes: [Double] = []
        var reduced = ""
        var state = "?"
        var serverSeconds = 0.0
        for _ in 0..<reads {
            let (ms, _, body) = try await timed(reducePath)
            reduceTimes.append(ms)
            reduced = (try? JSONValue.parse(body.readableBytesView).field("result")?.serialized()) ?? String(buffer: body)
            let (detailMs, _, detail) = try await timed("/api/v1/run/\(uuid)")
            detailTimes.append(detailMs)
            let run = try? JSONValue.parse(detail.readableBytesView)
            if case .string(let s) = run?.field("state") { state = s }
            if case .string(let c) = run?.field("created"), case .string(let e) = run?.field("ended"),
                let created = Timestamp(parsing: c), let ended = Timestamp(parsing: e)
            {
                serverSeconds = Double(ended.microseconds - created.microseconds) / 1e6
            }
        }
        if state != "succeeded" { pickups.failed("run ended \(state)") }
        if reduced != String(3 * agents) { pickups.failed("reduce answered \(reduced.prefix(80))") }
        reduceTimes.sort()
        detailTimes.sort()

        let last = try await server.stats()
        if last.headerTimeouts > 0 {
            print(
                "  the server closed \(last.headerTimeouts) connections whose request head did not arrive within the header timeout"
            )
        }
        await fleet.stop(loop)
        return Figures(
            parked: parked, createMilliseconds: createMilliseconds, completeSeconds: completeSeconds,
            serverSeconds: serverSeconds, reduceP50: reduceTimes.isEmpty ? 0 : reduceTimes[reduceTimes.count / 2],
            reduceMax: reduceTimes.last ?? 0, detailP50: detailTimes.isEmpty ? 0 : detailTimes[detailTimes.count / 2],
            peakInFlight: pickups.peakInFlight, state: state, reduced: reduced, errors: pickups.failureKinds)
    }
}
