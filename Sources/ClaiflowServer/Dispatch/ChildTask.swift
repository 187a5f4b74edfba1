/// Runs deep calls (the store, the JWT check) in a child task of their own.
///
/// A Swift task keeps the memory its async frames needed at their deepest until it ends: its
/// allocator keeps the slabs it grew into. A parked poll's task lives for up to a minute and a
/// connection's task as long as the connection, so a store transaction or a JWT check run in
/// them would stay paid for by every parked agent (several KiB each, docs/benchmarks.md). In
/// a child task those slabs are freed when the call returns; the cost is one task (a few
/// microseconds) per call.
enum ChildTask {
    /// `operation`'s result, computed in a child task (cancelled with the caller).
    static func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        async let result = operation()
        return try await result
    }
}
