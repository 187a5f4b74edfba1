import ServiceLifecycle

/// Ends every event stream when the server shuts down, so that it stops promptly.
struct BroadcasterCloser: ServiceLifecycle.Service {
    let broadcaster: EventBroadcaster

    func run() async throws {
        try? await gracefulShutdown()
        broadcaster.close()
    }
}
