import CJQ
import ClaiflowCore

/// A JSON value converted once to libjq's representation, so that several runs over the same
/// (possibly large) value do not convert it again.
///
/// ```swift
/// let pods = JQValue(podList)                       // converted once
/// for i in 0..<n { _ = try program.first(JQValue(array: [pods, JQValue(.integer(Int64(i)))])) }
/// ```
///
/// libjq's reference counts are not atomic, so a `JQValue` is deliberately not `Sendable`: keep
/// it within one task. (``JQProgram`` never retains it after a run returns.)
public final class JQValue {
    let value: jv

    /// Converts a JSON value.
    public init(_ json: JSONValue) {
        value = JV.make(json)
    }

    /// Builds an array of converted values without converting them again.
    public init(array elements: [JQValue]) {
        var array = jv_array_sized(Int32(clamping: elements.count))
        for element in elements {
            array = jv_array_append(array, jv_copy(element.value))
        }
        value = array
    }

    deinit {
        jv_free(value)
    }

    /// The value converted back to JSON.
    public var json: JSONValue { JV.borrow(value) }
}

@available(*, unavailable)
extension JQValue: Sendable {}
