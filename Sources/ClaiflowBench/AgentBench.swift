import AsyncHTTPClient
import ClaiflowCore
import ClaiflowServer
import ClaiflowStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// One real agent process (`claiflow agent`, the binary next to this one) against an in-process
/// server: services per second through it with `claiflow.echo` (create → succeeded), and its
/// resident memory at idle and under load (from /proc).
struct AgentBench {
    let databaseURL: String
    let services: Int
    let workers: Int

    func rssKiB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    func run() async throws -> (perSecond: Double, idleMiB: Double, loadMiB: Double) {
        let server = try await BenchServer.start(databaseURL: databaseURL)
        let app = server.app
        let base = server.base
        let auth = server.auth
        @Sendable func post(_ path: String, _ body: String) async throws -> ByteBuffer {
            var r = HTTPClientRequest(url: base + path)
            r.method = .POST
            r.headers.add(name: "Authorization", value: auth)
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: body))
            return try await HTTPClient.shared.execute(r, timeout: .seconds(30)).body.collect(upTo: 1 << 24)
        }
        let cluster = "agentbench-" + Identifier.generate().prefix(6)
        _ = try await post("/api/v1/cluster", #"{"uuid":"\#(cluster)","name":"bench"}"#)
        let tokenReply = try JSONValue.parse(
            try await post("/api/v1/cluster_token", #"{"name":"a","cluster_uuid":"\#(cluster)"}"#).readableBytesView)
        guard case .string(let token) = tokenReply.field("token") else { throw FlowBenchError("no token") }

        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("claiflow")
        let agent = Process()
        agent.executableURL = binary
        agent.arguments = ["agent", "--workers", String(workers), "--log-level", "error"]
        var env = ProcessInfo.processInfo.environment
        env["CLAIFLOW_SERVER"] = base
        env["CLAIFLOW_CLUSTER"] = cluster
        env["CLAIFLOW_TOKEN"] = token
        env["KUBECONFIG"] = "/nonexistent"
        agent.environment = env
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { agent.terminate() } }

        // Idle: the agent connected and parked for a while.
        let deadline = ContinuousClock.now + .seconds(30)
        while app.agents.parkedPolls < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .seconds(3))
        let idle = rssKiB(agent.processIdentifier)

        func succeeded() async throws -> Int {
            try await app.store.database.read { db in
                Int(
                    try await db.first("SELECT COUNT(*) AS n FROM service WHERE status = \(bind: ServiceStatus.succeeded)")?
                        .integer("n") ?? 0)
            }
        }
        let flow =
            #"[{"$id":"a","$command":"claiflow.echo","inputs":{"n":"$inputs.n"}},{"$id":"b","$command":"claiflow.echo","inputs":{"m":"$a.outputs.n"}}]"#
        let start = ContinuousClock.now
        var peak = idle
        try await withThrowingTaskGroup(of: Void.self) { g in
            for w in 0..<8 {
                g.addTask {
                    var i = w
                    while i < services {
                        _ = try await post(
                            "/api/v1/cluster/\(cluster)/service", #"{"uuid":"s\#(i)","flow":\#(flow),"inputs":{"n":\#(i)}}"#)
                        i += 8
                    }
                }
            }
            g.addTask {
                while try await succeeded() < services { try await Task.sleep(for: .milliseconds(20)) }
            }
            // Sample the agent's memory while it works.
            while g.isEmpty == false {
                peak = max(peak, rssKiB(agent.processIdentifier))
                if try await succeeded() >= services { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await g.waitForAll()
        }
        let d = ContinuousClock.now - start
        let rate = Double(services) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        agent.terminate()
        agent.waitUntilExit()
        await server.stop()
        return (rate, Double(idle) / 1024, Double(peak) / 1024)
    }
}
