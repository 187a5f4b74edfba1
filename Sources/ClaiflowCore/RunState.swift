/// The state of a run.
public enum RunState: String, Sendable, CaseIterable, Codable {
    /// Some of its clusters have not finished.
    case running
    /// Finished, and every cluster it started succeeded.
    case succeeded
    /// Finished with failures (or canceled services) within its failure threshold.
    case failed
    /// More clusters failed or expired than its `max_failures`: nothing more was started and its
    /// unstarted clusters were canceled (shown as soon as that is decided; `ended` is set when
    /// the clusters already running have finished).
    case stopped
    /// An operator canceled it (shown at once; `ended` as for `stopped`).
    case canceled
}
