import ServiceLifecycle

/// Ends every parked poll when the server shuts down, so that it stops promptly.
struct HubCloser: ServiceLifecycle.Service {
    let hub: DispatchHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.shutdown()
    }
}
