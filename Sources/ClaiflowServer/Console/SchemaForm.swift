import ClaiflowCore

/// The input form of a template, generated from its JSON Schema: one field per top-level
/// property with its label, type, requiredness, enum choices, default and description; and the
/// inputs document built back from the submitted form by the same types.
struct SchemaForm: Sendable {
    /// One form field.
    struct Field: Sendable {
        var name: String
        var title: String
        var description: String?
        /// `string`, `integer`, `number`, `boolean`, `object` or `array` (the last two are JSON text).
        var type: String
        var required: Bool
        var choices: [String]
        var defaultText: String?
    }

    var fields: [Field]

    /// The fields of an inputs schema (an object schema's properties, in name order).
    init(schema: JSONValue) {
        guard case .object(let properties)? = schema.field("properties") else {
            fields = []
            return
        }
        var required = Set<String>()
        if case .array(let names)? = schema.field("required") {
            for case .string(let n) in names { required.insert(n) }
        }
        fields = properties.keys.sorted().map { name in
            let p = properties[name] ?? .null
            var type = "string"
            if case .string(let t)? = p.field("type") {
                type = t
            } else if case .array(let ts)? = p.field("type"), case .string(let t)? = ts.first(where: { $0 != .string("null") }) {
                type = t
            }
            var choices: [String] = []
            if case .array(let values)? = p.field("enum") { choices = values.map(Self.text) }
            var title = name
            if case .string(let t)? = p.field("title") { title = t }
            var description: String?
            if case .string(let d)? = p.field("description") { description = d }
            return Field(
                name: name, title: title, description: description, type: type, required: required.contains(name),
                choices: choices, defaultText: p.field("default").map(Self.text))
        }
    }

    /// A value as a form shows it: strings as they are, anything else as JSON.
    static func text(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return v.serialized()
    }

    /// The inputs of a submitted form (`input.<name>` fields): empty fields are left out, the
    /// others converted by their field's type; a value that does not convert is kept as a string
    /// (the schema then names it). Booleans are checkboxes.
    func inputs(from form: FormData) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for f in fields {
            let raw = form["input." + f.name]
            if f.type == "boolean" {
                if raw != nil || f.required { object[f.name] = .bool(raw == "true" || raw == "on") }
                continue
            }
            guard let raw, !raw.isEmpty else { continue }
            switch f.type {
            case "integer":
                object[f.name] = Int64(raw).map(JSONValue.integer) ?? .string(raw)
            case "number":
                object[f.name] = Double(raw).map(JSONValue.number) ?? .string(raw)
            case "object", "array":
                object[f.name] = (try? JSONValue.parse(raw)) ?? .string(raw)
            default:
                object[f.name] = .string(raw)
            }
        }
        return .object(object)
    }

    /// The error message of each field named in a validation error (`/name: …`, or a
    /// `(root)` violation quoting the name, such as a missing required property).
    func fieldErrors(_ message: String) -> [String: String] {
        var errors: [String: String] = [:]
        let body = message.range(of: "\": ").map { String(message[$0.upperBound...]) } ?? message
        for var part in body.components(separatedBy: "; ") {
            if let r = part.range(of: "schema: ") { part = String(part[r.upperBound...]) }
            for f in fields {
                if part.hasPrefix("/\(f.name):") || part.hasPrefix("/\(f.name)/")
                    || (part.hasPrefix("(root)") && part.contains("\"\(f.name)\""))
                {
                    errors[f.name, default: ""] += (errors[f.name] == nil ? "" : "; ") + part
                }
            }
        }
        return errors
    }

    /// The fields for a page: each with its value (submitted, else its default) and error.
    func view(values: FormData?, errors: [String: String]) -> [[String: Any]] {
        fields.map { f in
            let value = values?["input." + f.name] ?? f.defaultText ?? ""
            var v: [String: Any] = [
                "name": f.name, "title": f.title, "type": f.type, "required": f.required, "value": value,
                "isBoolean": f.type == "boolean", "isNumber": f.type == "integer" || f.type == "number",
                "isJSON": f.type == "object" || f.type == "array", "checked": value == "true" || value == "on",
                "step": f.type == "integer" ? "1" : "any",
            ]
            v["hasChoices"] = !f.choices.isEmpty
            if !f.choices.isEmpty {
                v["choices"] = f.choices.map { ["value": $0, "selected": $0 == value] as [String: Any] }
            }
            if let d = f.description { v["description"] = d }
            if let e = errors[f.name] { v["fieldError"] = e }
            // Only ids the page has: the description and the error, when there are.
            let describedBy = [f.description.map { _ in "d-" + f.name }, errors[f.name].map { _ in "e-" + f.name }]
                .compactMap { $0 }
            v["described"] = !describedBy.isEmpty
            v["describedBy"] = describedBy.joined(separator: " ")
            return v
        }
    }
}
