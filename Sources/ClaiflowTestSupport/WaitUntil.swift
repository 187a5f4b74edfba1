/// Waits until `condition` holds, checking every 20 ms, for at most `timeout`; returns whether
/// it held. For state a background job changes, where there is no event to await.
public func waitUntil(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
