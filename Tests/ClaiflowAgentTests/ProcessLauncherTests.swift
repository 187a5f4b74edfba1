import ClaiflowTestSupport
import Foundation
import Testing

/// The tests' one door to `Process.run()`: many starts at once from many tasks.
@Suite("Process launcher")
struct ProcessLauncherTests {
    @Test("processes started from many tasks at once all run; the waits return their exit and the handlers are called")
    func manyAtOnce() async throws {
        let count = 24
        let handled = Handled()
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for i in 0..<count {
                group.addTask {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/bin/sh")
                    p.arguments = ["-c", "exit \(i % 3)"]
                    p.standardInput = FileHandle.nullDevice
                    p.standardOutput = FileHandle.nullDevice
                    p.standardError = FileHandle.nullDevice
                    p.terminationHandler = { handled.record($0.terminationStatus) }
                    try ProcessLauncher.run(p)
                    ProcessLauncher.waitUntilExit(p)
                    #expect(!p.isRunning)
                    return p.terminationStatus
                }
            }
            var exits: [Int32] = []
            for try await status in group { exits.append(status) }
            #expect(exits.sorted() == (0..<count).map { Int32($0 % 3) }.sorted())
        }
        let seen = handled.wait(for: count).sorted()
        #expect(seen == (0..<count).map { Int32($0 % 3) }.sorted())
    }

    @Test("a program that cannot start throws, and waiting for it returns at once")
    func failedStart() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/nonexistent/program")
        #expect(throws: (any Error).self) { try ProcessLauncher.run(p) }
        ProcessLauncher.waitUntilExit(p)
    }

    /// The exit statuses the termination handlers saw.
    final class Handled: @unchecked Sendable {
        private let condition = NSCondition()
        private var statuses: [Int32] = []

        func record(_ status: Int32) {
            condition.lock()
            statuses.append(status)
            condition.broadcast()
            condition.unlock()
        }

        /// Waits (30 s at most) until `count` statuses are in.
        func wait(for count: Int) -> [Int32] {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Date().addingTimeInterval(30)
            while statuses.count < count, condition.wait(until: deadline) {}
            return statuses
        }
    }
}
