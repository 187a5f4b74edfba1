import ClaiflowTestSupport
import Foundation
import Testing

@Suite("Spawned process (posix_spawn)")
struct SpawnedProcessTests {
    @Test("output and error go to their files, the exit status arrives, other descriptors are closed in the child")
    func exitAndOutput() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let err = dir.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        // A descriptor the test process holds open without close-on-exec must not reach the child.
        let held = open(out, O_RDONLY)
        defer { close(held) }
        let status = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, any Error>) in
            do {
                _ = try SpawnedProcess(
                    executable: "/bin/sh",
                    arguments: [
                        "-c", "echo \"$GREETING\"; [ -e /proc/self/fd/\(held) ] && echo leaked >&2; echo err >&2; exit 7",
                    ],
                    environment: ["GREETING": "hello"], stdout: out, stderr: err, onExit: { c.resume(returning: $0) })
            } catch { c.resume(throwing: error) }
        }
        #expect(status == 7)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "hello\n")
        #expect(try String(contentsOfFile: err, encoding: .utf8) == "err\n")
    }

    @Test("terminate ends a running child; its status is the signal")
    func terminate() async throws {
        let p = try SpawnedProcess(
            executable: "/bin/sleep", arguments: ["30"], environment: [:], stdout: "/dev/null", stderr: "/dev/null",
            onExit: { _ in })
        #expect(p.isRunning)
        p.terminate()
        #expect(try await waitUntil(timeout: .seconds(10)) { !p.isRunning })
        #expect(p.terminationStatus == SIGTERM)
    }

    @Test("a program that does not exist throws")
    func missing() {
        #expect(throws: (any Error).self) {
            try SpawnedProcess(
                executable: "/nonexistent/program", arguments: [], environment: [:], stdout: "/dev/null",
                stderr: "/dev/null", onExit: { _ in })
        }
    }
}
