import CJQ
import ClaiflowCore
import Foundation
import Synchronization

/// A jq filter compiled once with the system libjq and run any number of times, from any
/// number of tasks at once.
///
/// ```swift
/// let program = try JQProgram(filter: ".items[] | select(.status >= 4) | .name")
/// let names = try program.run(payload)          // every output
/// let matches = try JQProgram(filter: ".status >= 4").first(payload) == .bool(true)
/// ```
///
/// **Concurrency.** A libjq `jq_state` must not be used by two threads at once, and compiling
/// one costs milliseconds (libjq 1.6 re-parses its builtins on every compile). A program
/// therefore keeps a small pool of compiled states: a run takes an idle state (or compiles a
/// new one when all are busy) and gives it back afterwards; at most one state per core is kept
/// idle, extra ones are torn down. Compared with one state behind a lock, runs of the same
/// program never wait for each other (a shared program such as a flow's path lookup is used by
/// every running service), and memory stays bounded by the real concurrency. A run that ends
/// in `halt`/`halt_error` discards its state (libjq 1.6 cannot safely reuse it), so the next
/// run compiles a fresh one.
///
/// **Sandbox.** Unless `allowEnvironment` is set, the filter cannot read the process environment
/// (`$ENV` and `env` are `{}`), so user-written filters cannot extract secrets from the server or
/// agent. Modules (`import`, `include`, `modulemeta`) never load files: the library search path
/// is empty.
///
/// **Values.** Inputs and outputs are ``JSONValue``s. Integers within ±2^53 and UTF-8 strings
/// (including embedded NUL characters) survive the round trip exactly; jq stores every number as
/// a double, so integral outputs within ±2^53 come back as `.integer`, NaN as `null` and
/// infinities as the largest finite double (as jq prints them).
public final class JQProgram: Sendable {
    /// The filter text as given.
    public let filter: String
    /// Whether the filter may read the process environment through `$ENV` / `env`.
    public let allowsEnvironment: Bool

    private let compiledText: String
    private let hiddenPrefixLines: Int
    private let idle: Mutex<[JQState]>
    private let maxIdle: Int

    /// Compiles a filter. An empty (or blank) filter is the identity `.`.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` with jq's compile message
    ///   (`invalid jq filter: syntax error, unexpected ... at <top-level>, line 1`).
    public init(filter: String, allowEnvironment: Bool = false) throws(ClaiflowError) {
        self.filter = filter
        self.allowsEnvironment = allowEnvironment
        let body = filter.allSatisfy(\.isWhitespace) ? "." : filter
        if allowEnvironment {
            compiledText = body
            hiddenPrefixLines = 0
        } else {
            // Shadow the environment for the whole user filter. On its own line so that jq's
            // error positions still refer to the user's lines (corrected by one).
            compiledText = "def env: {}; {} as $ENV |\n" + body
            hiddenPrefixLines = 1
        }
        let first = try JQState(compiling: compiledText, hiddenPrefixLines: hiddenPrefixLines)
        idle = Mutex([first])
        maxIdle = max(2, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs the filter over `input` and returns all its outputs in order.
    ///
    /// - Throws: ``ClaiflowError`` `.invalidArgument` with jq's runtime message, e.g.
    ///   `Cannot index string with "name"`, or the value given to `error(...)`.
    public func run(_ input: JSONValue) throws(ClaiflowError) -> [JSONValue] {
        try withState { state throws(ClaiflowError) in try state.run(JV.make(input), limit: .max) }
    }

    /// Runs the filter over an already converted value (see ``JQValue``) and returns all outputs.
    public func run(_ input: JQValue) throws(ClaiflowError) -> [JSONValue] {
        try withState { state throws(ClaiflowError) in try state.run(jv_copy(input.value), limit: .max) }
    }

    /// Runs the filter over `input` and returns its first output, or nil when it produces none.
    /// Evaluation stops after the first output, so later errors are not seen.
    public func first(_ input: JSONValue) throws(ClaiflowError) -> JSONValue? {
        try withState { state throws(ClaiflowError) in try state.run(JV.make(input), limit: 1) }.first
    }

    /// Runs the filter over an already converted value (see ``JQValue``) and returns its first
    /// output, or nil when it produces none.
    public func first(_ input: JQValue) throws(ClaiflowError) -> JSONValue? {
        try withState { state throws(ClaiflowError) in try state.run(jv_copy(input.value), limit: 1) }.first
    }

    private func withState<T>(_ body: (JQState) throws(ClaiflowError) -> T) throws(ClaiflowError) -> T {
        let pooled = idle.withLock { $0.popLast() }
        let state: JQState
        if let pooled {
            state = pooled
        } else {
            state = try JQState(compiling: compiledText, hiddenPrefixLines: hiddenPrefixLines)
        }
        defer {
            // Drop a surplus (or halted) state outside the lock (its teardown frees memory).
            let surplus: JQState? = idle.withLock { states in
                if !state.halted, states.count < maxIdle {
                    states.append(state)
                    return nil
                }
                return state
            }
            _ = surplus
        }
        return try body(state)
    }
}
