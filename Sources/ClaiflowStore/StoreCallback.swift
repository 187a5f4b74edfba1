/// A handler the store calls after a commit, held by reference.
///
/// A closure kept directly in a `Mutex` is handed out by `inout` through the mutex's generic
/// parameter, which re-abstracts it on the way out and on the write-back: every `withLock { $0 }`
/// wrapped the stored closure in two more thunks, so after n writes one call ran through 2n thunks
/// (67 % of the server's CPU after 16,000 cluster creates on SQLite, and throughput falling the
/// longer the server ran). A class reference is copied as it is.
final class StoreCallback<Argument>: Sendable {
    let call: @Sendable (Argument) -> Void

    init(_ call: @escaping @Sendable (Argument) -> Void) { self.call = call }
}
