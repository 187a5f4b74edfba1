import AsyncHTTPClient
import ClaiflowAgent
import ClaiflowCore
import ClaiflowFlow
import ClaiflowServer
import ClaiflowStore
import ClaiflowTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// A real claiflow server on loopback, which can be stopped and started again on the same
/// database and port.
final class RunningServer: Sendable {
    static let adminToken = OperatorRequest.adminToken

    let port: Int
    let app: ClaiflowServerApp
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, app: ClaiflowServerApp, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.app = app
        self.group = group
        self.task = task
    }

    /// Starts a server on `databaseURL`; port 0 lets the OS choose; `configure` changes the configuration.
    static func start(
        databaseURL: String, port: Int = 0, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = port
        config.database = databaseURL
        config.adminToken = adminToken
        config.logLevel = .warning
        config.settingsRefreshInterval = .milliseconds(100)
        config.grpcPort = nil
        configure(&config)
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await ClaiflowServerApp.build(configuration: config, logger: logger) { port in
            continuation.yield(port)
        }
        let group = ServiceGroup(services: [app.application], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw ClaiflowError(.internal, "server did not start") }
        return RunningServer(port: bound, app: app, group: group, task: task)
    }

    /// Stops the server and closes its store.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
        await app.store.close()
    }

    /// Sends an operator request (admin key).
    @discardableResult
    func request(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws -> Reply {
        try await OperatorRequest.send(port: port, method, path, json: json)
    }
}

/// Named gates the test commands wait on and the tests open; records which were reached.
final class Gates: Sendable {
    private struct Inner {
        var open: Set<String> = []
        var entered: [String] = []
        var waiters: [(name: String, id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID = 0
    }

    private let inner = Mutex(Inner())

    /// Notes that `name` was reached (without waiting).
    func enter(_ name: String) { inner.withLock { $0.entered.append(name) } }

    /// Whether `name` was reached.
    func reached(_ name: String) -> Bool { inner.withLock { $0.entered.contains(name) } }

    /// The names reached, in order.
    var reachedNames: [String] { inner.withLock { $0.entered } }

    /// Notes that `name` was reached and waits until the test opens it; throws
    /// `CancellationError` when the task is canceled.
    func wait(_ name: String) async throws {
        let id = inner.withLock { i -> Int in
            i.entered.append(name)
            i.nextID += 1
            return i.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let action = inner.withLock { i -> Int in
                    if Task.isCancelled { return 2 }
                    if i.open.contains(name) { return 1 }
                    i.waiters.append((name, id, continuation))
                    return 0
                }
                if action == 1 { continuation.resume() }
                if action == 2 { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = inner.withLock { i -> CheckedContinuation<Void, any Error>? in
                guard let index = i.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return i.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Opens a gate: present and future waiters pass.
    func open(_ name: String) {
        let waiters = inner.withLock { i -> [CheckedContinuation<Void, any Error>] in
            i.open.insert(name)
            let matching = i.waiters.filter { $0.name == name }.map(\.continuation)
            i.waiters.removeAll { $0.name == name }
            return matching
        }
        for w in waiters { w.resume() }
    }
}

/// A server with cluster `c1` and its token, the test commands, and agents to run against it.
final class Harness: Sendable {
    let databaseURL: String
    let cleanup: @Sendable () async throws -> Void
    let token: String
    let gates = Gates()
    private let current: Mutex<RunningServer>

    var server: RunningServer { current.withLock { $0 } }

    private init(databaseURL: String, cleanup: @escaping @Sendable () async throws -> Void, token: String, server: RunningServer)
    {
        self.databaseURL = databaseURL
        self.cleanup = cleanup
        self.token = token
        self.current = Mutex(server)
    }

    /// Runs `body` with a fresh server (SQLite), stopping everything afterwards.
    static func with(_ body: @Sendable (Harness) async throws -> Void) async throws {
        let (url, cleanup) = try await StoreFixture.freshDatabaseURL(.sqlite)
        let server = try await RunningServer.start(databaseURL: url)
        let harness: Harness
        do {
            try await server.request(.POST, "/api/v1/cluster", json: #"{"uuid":"c1","name":"c1"}"#)
            let t = try await server.request(
                .POST, "/api/v1/cluster_token", json: #"{"uuid":"t-c1","name":"agent","cluster_uuid":"c1"}"#)
            guard let token = t.string("token") else { throw ClaiflowError(.internal, "no token: \(t.body)") }
            harness = Harness(databaseURL: url, cleanup: cleanup, token: token, server: server)
        } catch {
            await server.stop()
            try? await cleanup()
            throw error
        }
        do {
            try await body(harness)
        } catch {
            await harness.server.stop()
            try? await cleanup()
            throw error
        }
        await harness.server.stop()
        try await cleanup()
    }

    /// Stops the server, runs `whileDown`, then starts a new server on the same database and port.
    func restartServer(whileDown: @Sendable () async throws -> Void = {}) async throws {
        let old = server
        await old.stop()
        try await whileDown()
        let new = try await RunningServer.start(databaseURL: databaseURL, port: old.port)
        current.withLock { $0 = new }
    }

    /// The test commands.
    var commands: [String: FlowCommand] {
        let gates = self.gates
        return [
            "test.echo": { call in call.inputs ?? .null },
            "test.square": { call in
                guard case .integer(let n)? = call.inputs?.field("n") else { throw FlowCommandError("n must be an integer") }
                return .integer(n * n)
            },
            "test.sum": { call in
                guard case .array(let values)? = call.inputs?.field("values") else {
                    throw FlowCommandError("values must be an array")
                }
                var total: Int64 = 0
                for case .integer(let v) in values { total += v }
                return .integer(total)
            },
            "test.fail": { call in
                var message = "boom"
                if case .string(let m)? = call.inputs?.field("message") { message = m }
                throw FlowCommandError(message)
            },
            "test.mark": { call in
                if case .string(let name)? = call.inputs?.field("name") { gates.enter(name) }
                return .string("marked")
            },
            "test.gate": { call in
                guard case .string(let name)? = call.inputs?.field("name") else { throw FlowCommandError("name is required") }
                try await gates.wait(name)
                return .string("passed \(name)")
            },
            "test.sleep": { call in
                guard case .integer(let ms)? = call.inputs?.field("ms") else { throw FlowCommandError("ms is required") }
                try await Task.sleep(for: .milliseconds(ms))
                return .integer(ms)
            },
            // Waits until every name in `all` has entered (both services run at once), at most 20 s.
            "test.meet": { call in
                guard case .string(let name)? = call.inputs?.field("name"), case .array(let all)? = call.inputs?.field("all")
                else {
                    throw FlowCommandError("name and all are required")
                }
                gates.enter(name)
                let names = all.compactMap { if case .string(let s) = $0 { s } else { nil } }
                let deadline = ContinuousClock.now + .seconds(20)
                while !names.allSatisfy(gates.reached) {
                    guard ContinuousClock.now < deadline else { throw FlowCommandError("\(name): the others never came") }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return .string("met")
            },
        ]
    }

    /// A configuration for an agent of `c1` with quick retries.
    func configuration(workers: Int = 2) -> AgentConfiguration {
        var c = AgentConfiguration(
            serverURL: "http://127.0.0.1:\(server.port)/", clusterUUID: "c1", token: token, workers: workers, version: "test")
        c.pollWait = .seconds(2)
        c.initialBackoff = .milliseconds(50)
        c.maximumBackoff = .milliseconds(500)
        c.shutdownGrace = .seconds(5)
        return c
    }

    /// Starts an agent in a service group (no signals), with the test commands (or `commands`)
    /// plus `extraCommands`, `upgrader` for `claiflow.client.upgrade`, and `logger` (quiet unless given).
    func startAgent(
        _ configuration: AgentConfiguration, commands: [String: FlowCommand]? = nil, extraCommands: [String: FlowCommand] = [:],
        upgrader: (any AgentUpgrader)? = nil, logger: Logger? = nil
    ) -> RunningAgent {
        var quiet = Logger(label: "test-agent")
        quiet.logLevel = ProcessInfo.processInfo.environment["AGENT_TEST_LOG"] == "1" ? .debug : .critical
        let logger = logger ?? quiet
        let runtime = AgentRuntime(
            configuration: configuration, commands: (commands ?? self.commands).merging(extraCommands) { _, new in new },
            upgrader: upgrader, httpClient: HTTPClient.shared,
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup)], logger: logger))
        return RunningAgent(runtime: runtime, group: group)
    }

    /// Creates a service on `c1` with an inline flow.
    func createService(_ uuid: String, flow: String, inputs: String? = nil) async throws {
        var body = #"{"uuid":"\#(uuid)","flow":\#(flow)"#
        if let inputs { body += #","inputs":\#(inputs)"# }
        body += "}"
        let r = try await server.request(.POST, "/api/v1/cluster/c1/service", json: body)
        guard r.status == 200 else { throw ClaiflowError(.internal, "create \(uuid): \(r.status) \(r.body)") }
    }

    /// A service's state on the server.
    struct ServiceState: Sendable {
        var status: Int64?
        var statuses: [Int64]
        var messages: [String]
    }

    func state(_ uuid: String) async throws -> ServiceState {
        let d = try await server.request(.GET, "/api/v1/cluster/c1/service/\(uuid)")
        var state = ServiceState(status: nil, statuses: [], messages: [])
        if case .integer(let s)? = d.json?.field("status") { state.status = s }
        if case .array(let rows)? = d.json?.field("statuses") {
            for row in rows {
                if case .integer(let s)? = row.field("status") { state.statuses.append(s) }
                if case .string(let m)? = row.field("message") { state.messages.append(m) }
            }
        }
        return state
    }

    func result(_ uuid: String) async throws -> String? {
        try await server.request(.GET, "/api/v1/cluster/c1/service/\(uuid)/result").string("result")
    }

    /// Waits until the service's status is one of `statuses`.
    func waitForStatus(_ uuid: String, _ statuses: Set<Int64>, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await waitUntil(timeout: timeout) { try await self.state(uuid).status.map(statuses.contains) ?? false }
    }
}

/// An agent running in a service group.
final class RunningAgent: Sendable {
    let runtime: AgentRuntime
    let group: ServiceGroup
    private let done = Mutex(false)
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    init(runtime: AgentRuntime, group: ServiceGroup) {
        self.runtime = runtime
        self.group = group
        let task = Task { [self] in
            defer { self.done.withLock { $0 = true } }
            try await group.run()
        }
        self.task.withLock { $0 = task }
    }

    /// Whether the agent's run has returned.
    var hasExited: Bool { done.withLock { $0 } }

    /// Triggers a graceful shutdown and waits for the agent to return.
    func shutdown() async throws {
        await group.triggerGracefulShutdown()
        try await task.withLock { $0 }?.value
    }

    /// Waits (at most `timeout`) for the agent to return by itself.
    func exited(within timeout: Duration) async throws -> Bool {
        try await waitUntil(timeout: timeout) { self.hasExited }
    }
}
