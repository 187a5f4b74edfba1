import OpenAPIRuntime

/// A JSON object read from the operator's input, for a request's free-form object field.
public struct OpenAPIObjectContainerBox: Decodable, Sendable {
    /// The object (`nil` when empty, so the request leaves the field out).
    public let value: OpenAPIObjectContainer?

    public init(from decoder: any Decoder) throws {
        let object = try OpenAPIObjectContainer(from: decoder)
        value = object.value.isEmpty ? nil : object
    }
}
