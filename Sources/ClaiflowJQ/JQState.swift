import CJQ
import ClaiflowCore

/// Collects the messages libjq reports through its error callback (compile errors).
private final class JQMessages {
    var messages: [String] = []
}

/// libjq's error callback: takes ownership of `message` and appends its text to the collector.
private let collectMessage: jq_msg_cb = { context, message in
    guard let context else {
        jv_free(message)
        return
    }
    let collector = Unmanaged<JQMessages>.fromOpaque(context).takeUnretainedValue()
    collector.messages.append(JV.message(message))
}

/// One compiled `jq_state`.
///
/// A `jq_state` is not thread-safe: an instance is only ever used by one thread at a time, which
/// ``JQProgram``'s pool guarantees (a state is either idle in the pool or owned by exactly one
/// `run` call). That is what makes the `@unchecked Sendable` sound.
final class JQState: @unchecked Sendable {
    private var state: OpaquePointer?
    private let messages = JQMessages()
    /// Set when a run ended with `halt`/`halt_error`. libjq 1.6's reset frees the halt status
    /// and message without clearing them, so resetting such a state again (the next run, or
    /// the reset after this one) would free them twice. A halted state is therefore never reset
    /// nor reused: the pool drops it and `jq_teardown` resets it exactly once.
    private(set) var halted = false

    /// Compiles `program`. `hiddenPrefixLines` is the number of lines the caller prepended to
    /// the user's filter; line numbers in compile errors are shifted back by that amount.
    init(compiling program: String, hiddenPrefixLines: Int) throws(ClaiflowError) {
        guard let state = jq_init() else {
            throw ClaiflowError(.internal, "jq: cannot allocate a jq state")
        }
        self.state = state
        jq_set_error_cb(state, collectMessage, Unmanaged.passUnretained(messages).toOpaque())
        // No module search path: `import`/`include`/`modulemeta` find nothing instead of reading
        // files (and libjq 1.6 asserts when the attribute is missing).
        jq_set_attr(state, jv_string("JQ_LIBRARY_PATH"), jv_array())
        let ok = program.withCString { jq_compile(state, $0) }
        if ok == 0 {
            let text = JQState.compileMessage(messages.messages, hiddenPrefixLines: hiddenPrefixLines)
            messages.messages.removeAll()
            throw ClaiflowError(.invalidArgument, "invalid jq filter: \(text)")
        }
        messages.messages.removeAll()
    }

    deinit {
        jq_teardown(&state)
    }

    /// Runs the program over `input` (an owned `jv`, consumed) and returns its outputs, at most
    /// `limit` of them. A jq runtime error (`error(...)`, `halt_error` with a non-zero status,
    /// type errors) is thrown as a 400 carrying jq's message.
    ///
    /// Afterwards the state is reset, so that it keeps no reference to the input or to values
    /// derived from it: an idle pooled state pins no memory, and a caller's ``JQValue`` is never
    /// released by another thread (libjq's reference counts are not atomic).
    func run(_ input: jv, limit: Int) throws(ClaiflowError) -> [JSONValue] {
        guard let state else {
            jv_free(input)
            throw ClaiflowError(.internal, "jq: state was torn down")
        }
        guard !halted else {
            jv_free(input)
            throw ClaiflowError(.internal, "jq: state cannot be reused after halt")
        }
        jq_start(state, input, 0)
        defer {
            if jq_halted(state) != 0 { halted = true } else { jq_start(state, jv_null(), 0) }
        }
        var outputs: [JSONValue] = []
        while outputs.count < limit {
            let next = jq_next(state)
            if jv_get_kind(next) != JV_KIND_INVALID {
                outputs.append(JV.take(next))
                continue
            }
            if jv_invalid_has_msg(jv_copy(next)) != 0 {
                throw ClaiflowError(.invalidArgument, JV.message(jv_invalid_get_msg(next)))
            }
            jv_free(next)
            if jq_halted(state) != 0 {
                try JQState.checkHalt(state)
            }
            break
        }
        return outputs
    }

    /// After `halt` / `halt_error`: a zero (or absent) exit status ends the outputs normally,
    /// anything else is an error carrying the halt message.
    private static func checkHalt(_ state: OpaquePointer) throws(ClaiflowError) {
        let code = jq_get_exit_code(state)
        let message = jq_get_error_message(state)
        var status = 0.0
        if jv_get_kind(code) == JV_KIND_NUMBER { status = jv_number_value(code) }
        jv_free(code)
        if status == 0 {
            jv_free(message)
            return
        }
        var text = jv_get_kind(message) == JV_KIND_INVALID ? "" : JV.message(message)
        if jv_get_kind(message) == JV_KIND_INVALID { jv_free(message) }
        if text.isEmpty { text = "halted with status \(JV.number(status).serialized())" }
        throw ClaiflowError(.invalidArgument, text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    /// Turns libjq's compile messages into one line: drops the "jq: N compile error(s)" summary,
    /// the "jq: error: " prefixes and the echoed program text, and corrects line numbers.
    static func compileMessage(_ messages: [String], hiddenPrefixLines: Int) -> String {
        var parts: [String] = []
        for raw in messages {
            var text = raw
            if text.hasPrefix("jq: error: ") { text = String(text.dropFirst("jq: error: ".count)) }
            if text.hasPrefix("jq: "), text.hasSuffix("compile error") || text.hasSuffix("compile errors") { continue }
            // "... at <top-level>, line 1:\n<program line>" → keep the first line only.
            if let newline = text.firstIndex(of: "\n") { text = String(text[..<newline]) }
            if text.hasSuffix(":") { text = String(text.dropLast()) }
            parts.append(shiftLine(text, by: hiddenPrefixLines))
        }
        return parts.isEmpty ? "compile error" : parts.joined(separator: "; ")
    }

    private static func shiftLine(_ text: String, by offset: Int) -> String {
        guard offset > 0, let range = text.range(of: "<top-level>, line ") else { return text }
        let digits = text[range.upperBound...].prefix(while: { $0.isASCII && $0.isNumber })
        guard let line = Int(digits) else { return text }
        return text[..<range.upperBound] + String(max(1, line - offset)) + text[digits.endIndex...]
    }
}
