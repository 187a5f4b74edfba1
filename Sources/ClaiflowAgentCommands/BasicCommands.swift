import ClaiflowCore
import ClaiflowFlow

/// `claiflow.echo` and `claiflow.sleep`.
enum BasicCommands {
    static func register(into catalog: inout CommandCatalog) {
        catalog.register("claiflow.echo") { call in
            call.inputs ?? .object([:])
        }
        catalog.register("claiflow.sleep") { call in
            let inputs = try CommandInputs(call)
            guard let seconds = try inputs.number("seconds") else {
                throw FlowCommandError("\"seconds\" is required")
            }
            guard seconds >= 0, seconds <= 86_400 * 7 else {
                throw FlowCommandError("\"seconds\" must be between 0 and 604800")
            }
            // Throws CancellationError as soon as the task is cancelled.
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return .object(["seconds": inputs.value("seconds") ?? .integer(0)])
        }
    }
}
