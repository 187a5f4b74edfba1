import CJQ
import ClaiflowCore

/// Conversions between ``JSONValue`` and libjq's `jv`.
///
/// Ownership follows libjq's convention: every `jv_*` function consumes its `jv` arguments and
/// returns an owned value, except `jv_copy`, `jv_get_kind`, `jv_number_value`, `jv_string_value`
/// and the `jv_object_iter*` family, which only borrow.
enum JV {
    /// The largest magnitude up to which every integer is exactly representable as a Double.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992  // 2^53

    /// Builds an owned `jv` from a JSON value. The caller must consume or free the result.
    static func make(_ value: JSONValue) -> jv {
        switch value {
        case .null: return jv_null()
        case .bool(let b): return jv_bool(b ? 1 : 0)
        case .integer(let i): return jv_number(Double(i))
        case .number(let d): return jv_number(d)
        case .string(let s): return makeString(s)
        case .array(let elements):
            var array = jv_array_sized(Int32(clamping: elements.count))
            for element in elements {
                array = jv_array_append(array, make(element))
            }
            return array
        case .object(let members):
            var object = jv_object()
            for (key, member) in members {
                object = jv_object_set(object, makeString(key), make(member))
            }
            return object
        }
    }

    /// Builds an owned `jv` string from the UTF-8 bytes of a Swift string (embedded NULs kept).
    static func makeString(_ string: String) -> jv {
        var string = string
        return string.withUTF8 { buffer -> jv in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return jv_string_sized("", 0) }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { chars in
                jv_string_sized(chars, Int32(clamping: buffer.count))
            }
        }
    }

    /// Converts an owned `jv` to a JSON value and frees it.
    ///
    /// Numbers that are integral and within ±2^53 become `.integer`; other finite numbers
    /// `.number`; NaN becomes `null` and ±infinity the largest finite double, as jq prints them.
    /// Strings are decoded as UTF-8, replacing invalid sequences with U+FFFD.
    static func take(_ value: jv) -> JSONValue {
        defer { jv_free(value) }
        return borrow(value)
    }

    /// Converts a borrowed `jv` (not freed) to a JSON value.
    static func borrow(_ value: jv) -> JSONValue {
        switch jv_get_kind(value) {
        case JV_KIND_NULL, JV_KIND_INVALID: return .null
        case JV_KIND_FALSE: return .bool(false)
        case JV_KIND_TRUE: return .bool(true)
        case JV_KIND_NUMBER: return number(jv_number_value(value))
        case JV_KIND_STRING: return .string(string(value))
        case JV_KIND_ARRAY:
            let count = Int(jv_array_length(jv_copy(value)))
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                elements.append(take(jv_array_get(jv_copy(value), Int32(index))))
            }
            return .array(elements)
        case JV_KIND_OBJECT:
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(Int(jv_object_length(jv_copy(value))))
            var iterator = jv_object_iter(value)
            while jv_object_iter_valid(value, iterator) != 0 {
                let key = jv_object_iter_key(value, iterator)
                let member = jv_object_iter_value(value, iterator)
                members[string(key)] = take(member)
                jv_free(key)
                iterator = jv_object_iter_next(value, iterator)
            }
            return .object(members)
        default:
            return .null
        }
    }

    /// The text of a borrowed `jv` string.
    static func string(_ value: jv) -> String {
        let count = Int(jv_string_length_bytes(jv_copy(value)))
        guard count > 0, let chars = jv_string_value(value) else { return "" }
        return chars.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        }
    }

    static func number(_ d: Double) -> JSONValue {
        if d.isNaN { return .null }
        if d.isInfinite { return .number(d < 0 ? -Double.greatestFiniteMagnitude : Double.greatestFiniteMagnitude) }
        if d.rounded(.towardZero) == d, abs(d) <= exactIntegerLimit { return .integer(Int64(d)) }
        return .number(d)
    }

    /// Renders an owned message `jv` (a jq error value) as text and frees it: strings as they
    /// are, anything else as compact JSON.
    static func message(_ value: jv) -> String {
        if jv_get_kind(value) == JV_KIND_STRING {
            defer { jv_free(value) }
            return string(value)
        }
        return take(value).serialized()
    }
}
