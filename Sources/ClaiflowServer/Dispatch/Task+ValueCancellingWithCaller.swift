extension Task where Failure == any Error {
    /// The task's value; cancelling the waiting task cancels this one. The transports run a poll
    /// in its own task so that a departed caller (which neither Hummingbird nor grpc-swift turns
    /// into cancellation of the handler's task) can cancel it.
    func valueCancellingWithCaller() async throws -> Success {
        try await withTaskCancellationHandler {
            try await value
        } onCancel: {
            cancel()
        }
    }
}
