import ClaiflowTestSupport
import Foundation
import Testing

@testable import ClaiflowAgentCommands

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("ProcessRunner")
struct ProcessRunnerTests {
    @Test("returns the exit status, stdout and stderr apart")
    func statusAndStreams() async throws {
        let output = try await ProcessRunner.run("/bin/sh", ["-c", "printf out; printf err >&2; exit 3"])
        #expect(output.status == 3)
        #expect(output.stdoutText == "out")
        #expect(output.stderrText == "err")
    }

    @Test("passes arguments as they are, never through a shell")
    func arguments() async throws {
        let output = try await ProcessRunner.run(
            "/bin/sh", ["-c", #"printf '%s|' "$@""#, "sh", "a b", "$HOME", "; rm -rf /", ""])
        #expect(output.status == 0)
        #expect(output.stdoutText == "a b|$HOME|; rm -rf /||")
    }

    @Test("reads large outputs on both streams without blocking the program")
    func largeOutputs() async throws {
        let output = try await ProcessRunner.run(
            "/bin/sh", ["-c", "head -c 3000000 /dev/zero; head -c 1000000 /dev/zero >&2; head -c 3000000 /dev/zero"])
        #expect(output.status == 0)
        #expect(output.stdout.count == 6_000_000)
        #expect(output.stderr.count == 1_000_000)
    }

    @Test("gives the program an empty stdin and this process's environment")
    func stdinAndEnvironment() async throws {
        let cat = try await ProcessRunner.run("/bin/cat", [])
        #expect(cat.status == 0)
        #expect(cat.stdout.isEmpty)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let env = try await ProcessRunner.run("/bin/sh", ["-c", #"printf %s "$PATH""#])
        #expect(env.stdoutText == path)
    }

    @Test("a missing executable is an error, not a status")
    func missingExecutable() async throws {
        let directory = try temporaryDirectory()
        await #expect(throws: (any Error).self) {
            _ = try await ProcessRunner.run(directory.appendingPathComponent("no-such-program").path, [])
        }
    }

    @Test("cancelling the task stops the program and throws CancellationError")
    func cancellation() async throws {
        let directory = try temporaryDirectory()
        let pidFile = directory.appendingPathComponent("pid").path
        let started = ContinuousClock.now
        let task = Task {
            try await ProcessRunner.run("/bin/sh", ["-c", "echo $$ > '\(pidFile)'; exec sleep 60"])
        }
        var pid: pid_t?
        #expect(
            try await waitUntil {
                pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                    pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                return pid != nil
            })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(30))
        // The program is gone (and reaped): signalling it fails.
        if let pid { #expect(kill(pid, 0) == -1) }
    }

    @Test("a program that prints more than the cap is stopped and the run fails")
    func outputCap() async throws {
        let started = ContinuousClock.now
        await #expect(throws: ProcessRunner.Failure.self) {
            _ = try await ProcessRunner.run("/bin/sh", ["-c", "while :; do echo y; done"], outputLimit: 1024)
        }
        await #expect(throws: ProcessRunner.Failure.self) {
            _ = try await ProcessRunner.run("/bin/sh", ["-c", "while :; do echo y >&2; done"], errorLimit: 1024)
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        let exact = try await ProcessRunner.run("/bin/sh", ["-c", "head -c 1024 /dev/zero"], outputLimit: 1024)
        #expect(exact.stdout.count == 1024)
    }

    @Test("a cancelled program that ignores SIGTERM is killed after the grace period")
    func cancellationKillsAfterGrace() async throws {
        let directory = try temporaryDirectory()
        let pidFile = directory.appendingPathComponent("pid").path
        let task = Task {
            try await ProcessRunner.run(
                "/bin/sh", ["-c", "trap '' TERM; echo $$ > '\(pidFile)'; while :; do sleep 1; done"],
                terminationGrace: .milliseconds(200))
        }
        var pid: pid_t?
        #expect(
            try await waitUntil {
                pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                    pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                return pid != nil
            })
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelled < .seconds(20))
        if let pid { #expect(kill(pid, 0) == -1) }
    }
}
