import ClaiflowAPIClient
import Foundation

/// Follows a fleet run until it ends, writing a line whenever its counts change (per wave).
public struct RunFollower: Sendable {
    /// The client.
    public let client: CLIClient
    /// How long to wait between two reads.
    public var interval: Duration = .milliseconds(500)

    /// Creates a follower.
    public init(client: CLIClient) { self.client = client }

    /// Reads the run until it has ended; returns the last read.
    public func follow(uuid: String, interactive: Bool, write: @Sendable (String) -> Void) async throws -> Components.Schemas.Run
    {
        var last = ""
        while true {
            let run = try await client.api.getRun(path: .init(uuid: uuid)).ok.body.json
            let line = Self.progress(run)
            if line != last {
                write(interactive ? "\r\u{1B}[K" + line : line + "\n")
                last = line
            }
            if run.ended != nil || run.state == .succeeded || run.state == .failed {
                if interactive { write("\n") }
                return run
            }
            try await Task.sleep(for: interval)
        }
    }

    /// `run 1f…: running — 3/10 succeeded, 1 failed, 2 running, 4 pending`.
    public static func progress(_ run: Components.Schemas.Run) -> String {
        let c = run.counts
        let failed = (c?.failed ?? 0) + (c?.expired ?? 0) + (c?.canceled ?? 0)
        return "run \(run.uuid ?? ""): \(run.state?.rawValue ?? "") - \(c?.succeeded ?? 0)/\(c?.total ?? 0) succeeded, "
            + "\(failed) failed, \(c?.running ?? 0) running, \(c?.pending ?? 0) pending, \(c?.skipped ?? 0) skipped"
    }

    /// Whether the run ended well: exit status 0, else 1.
    public static func succeeded(_ run: Components.Schemas.Run) -> Bool { run.state == .succeeded }
}
