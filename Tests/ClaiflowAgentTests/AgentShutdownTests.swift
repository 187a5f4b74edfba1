import ClaiflowAgent
import ClaiflowCore
import ClaiflowTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's shutdown is bounded by the shutdown grace plus the final-report time whatever the
/// server does (issue 12, defect 8): Kubernetes kills the pod at `terminationGracePeriodSeconds`.
@Suite("Agent shutdown with the server gone", .serialized)
struct AgentShutdownTests {
    /// How the server is gone.
    enum Gone: String, CaseIterable, Sendable {
        /// Nothing listens on the port: connections are refused.
        case refusing
        /// A listener accepts connections (the kernel completes them) and never answers.
        case silent
    }

    @Test(
        "SIGTERM with a long service and the server gone: the agent returns within grace + final-report time",
        arguments: Gone.allCases)
    func boundedWhenServerGone(_ gone: Gone) async throws {
        try await Harness.with { h in
            // One worker: while the service runs no poll is open, keep-alives go out instead, and
            // on the silent server one hangs, holding the service's report lock.
            var configuration = h.configuration(workers: 1)
            configuration.shutdownGrace = .seconds(1)
            configuration.finalReportTimeout = .seconds(2)
            // The request timeout keeps its 60 s default: no single request to a silent server may
            // hold the shutdown.
            configuration.keepAliveInterval = .milliseconds(200)
            #expect(configuration.requestTimeout == .seconds(60))
            let agent = h.startAgent(configuration)
            try await h.createService(
                "long",
                flow: #"[{"$id":"w","$command":"test.gate","inputs":{"name":"forever"}},{"$id":"e","$command":"test.echo"}]"#)
            #expect(try await waitUntil { h.gates.reached("forever") })
            #expect(try await h.waitForStatus("long", [2]))
            let port = h.server.port
            let grace = configuration.shutdownGrace
            // grace + final-report time, plus a margin for a loaded machine.
            let bound = grace + configuration.finalReportTimeout + .seconds(2)
            try await h.restartServer {
                var listener: SilentListener?
                if gone == .silent {
                    let silent = try SilentListener(port: port)
                    listener = silent
                    // The agent's keep-alive has reached the silent server and waits for an answer.
                    #expect(try await waitUntil(timeout: .seconds(10)) { silent.hasPendingConnection })
                }
                defer { listener?.close() }
                let start = ContinuousClock.now
                try await agent.shutdown()
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= grace, "\(elapsed)")
                #expect(elapsed < bound, "the shutdown took \(elapsed) with the server \(gone.rawValue)")
                #expect(agent.hasExited)
            }
            // The final report never reached the server: the service is still running there (its
            // lease lapses and the sweep fails it).
            #expect(try await h.state("long").status == 2)
        }
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the connections (up to
/// its backlog) and the clients wait for an answer that never comes.
final class SilentListener: Sendable {
    private let fd: Int32

    /// Listens on `port` (the address may be in `TIME_WAIT` from the server that just stopped).
    init(port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ClaiflowError(.internal, "socket: errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let code = errno
            _ = Self.closeDescriptor(fd)
            throw ClaiflowError(.internal, "cannot listen on 127.0.0.1:\(port): errno \(code)")
        }
        self.fd = fd
    }

    /// Whether a connection waits in the accept queue (a client connected and is waiting).
    var hasPendingConnection: Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLIN) != 0
    }

    /// Stops listening; the connections waiting are reset.
    func close() { _ = Self.closeDescriptor(fd) }

    private static func closeDescriptor(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}
