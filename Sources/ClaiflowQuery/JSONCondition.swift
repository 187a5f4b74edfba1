import ClaiflowCore

/// Compiles the JSON syntax of `q` (`{"eq":{"name":"foo"}}`, …) into a `Condition`.
struct JSONConditionCompiler {
    let builder: ConditionBuilder

    /// Compiles a parsed JSON document, which must be one condition object.
    func compile(_ json: JSONDocument) throws(ClaiflowError) -> Condition {
        try condition(json, depth: 1)
    }

    private func condition(_ json: JSONDocument, depth: Int) throws(ClaiflowError) -> Condition {
        try ConditionBuilder.checkDepth(depth)
        guard case .object(let members) = json else {
            throw ClaiflowError(
                .invalidArgument,
                "expected a condition object like {\"eq\":{\"column\":value}}, got \(json.kindName)")
        }
        guard members.count == 1 else {
            if members.isEmpty {
                throw ClaiflowError(
                    .invalidArgument, "empty condition object; expected exactly one operator like {\"eq\":{\"column\":value}}")
            }
            throw ClaiflowError(
                .invalidArgument,
                "exactly one operator per object is allowed, got \(members.count) keys: \(keyList(members)); "
                    + "combine conditions with {\"and\":[…]}")
        }
        let name = members[0].key
        let operand = members[0].value
        guard let op = ConditionOperator(name: name) else {
            throw ClaiflowError(
                .invalidArgument, "unknown operator \(quoted(name)); supported operators: \(ConditionOperator.supportedList)")
        }
        let opName = name.lowercased()
        switch op {
        case .and, .or:
            let subs: [Condition]
            switch operand {
            case .array(let elements):
                guard !elements.isEmpty else {
                    throw ClaiflowError(.invalidArgument, "operator \(opName) needs at least one condition, got an empty array")
                }
                var list: [Condition] = []
                list.reserveCapacity(elements.count)
                for element in elements {
                    list.append(try condition(element, depth: depth + 1))
                }
                subs = list
            case .object:
                subs = [try condition(operand, depth: depth + 1)]
            default:
                throw ClaiflowError(
                    .invalidArgument,
                    "operator \(opName) expects an array of condition objects or one condition object, got \(operand.kindName)")
            }
            if case .and = op { return .and(subs) }
            return .or(subs)
        case .not:
            guard case .object = operand else {
                throw ClaiflowError(.invalidArgument, "operator not expects one condition object, got \(operand.kindName)")
            }
            return .not(try condition(operand, depth: depth + 1))
        case .compare(let cmp):
            let (column, value) = try singleColumn(operand, opName: opName, form: "{\"column\": value}")
            return try builder.compare(cmp, column: column, value: try scalar(value, column: column, opName: opName))
        case .isNull:
            if case .string(let column) = operand {
                return try builder.isNull(column: column)
            }
            guard case .object = operand else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator isnull expects {\"column\": null} or a column name string, got \(operand.kindName)")
            }
            let (column, _) = try singleColumn(operand, opName: opName, form: "{\"column\": null}")
            return try builder.isNull(column: column)
        case .inList:
            let (column, value) = try singleColumn(operand, opName: opName, form: "{\"column\": [values…]}")
            if case .array(let elements) = value {
                // Checked before converting so that a huge list is rejected cheaply.
                try builder.checkInListSize(column: column, count: elements.count)
                var raws: [RawValue] = []
                raws.reserveCapacity(elements.count)
                for element in elements {
                    raws.append(try scalar(element, column: column, opName: opName))
                }
                return try builder.inList(column: column, values: raws)
            }
            return try builder.inList(column: column, values: [try scalar(value, column: column, opName: opName)])
        case .between:
            let (column, value) = try singleColumn(operand, opName: opName, form: "{\"column\": [low, high]}")
            guard case .array(let elements) = value else {
                throw ClaiflowError(
                    .invalidArgument,
                    "operator between on column \(quoted(column)) expects an array [low, high], got \(value.kindName)")
            }
            try builder.checkBetweenArity(column: column, count: elements.count)
            return try builder.between(
                column: column,
                low: try scalar(elements[0], column: column, opName: opName),
                high: try scalar(elements[1], column: column, opName: opName))
        }
    }

    /// The single `"column": value` member of a comparison operand; the column must be known.
    private func singleColumn(
        _ operand: JSONDocument, opName: String, form: String
    ) throws(ClaiflowError) -> (String, JSONDocument) {
        guard case .object(let members) = operand else {
            throw ClaiflowError(.invalidArgument, "operator \(opName) expects an object \(form), got \(operand.kindName)")
        }
        guard members.count == 1 else {
            if members.isEmpty {
                throw ClaiflowError(
                    .invalidArgument, "operator \(opName) expects an object \(form) with one column, got an empty object")
            }
            throw ClaiflowError(
                .invalidArgument,
                "exactly one column per comparison is allowed, but operator \(opName) got \(members.count): \(keyList(members)); "
                    + "combine comparisons with {\"and\":[…]}")
        }
        _ = try builder.columnType(members[0].key)
        return (members[0].key, members[0].value)
    }

    /// A JSON scalar as a raw value; arrays and objects are rejected.
    private func scalar(_ json: JSONDocument, column: String, opName: String) throws(ClaiflowError) -> RawValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .array, .object:
            throw ClaiflowError(
                .invalidArgument,
                "operator \(opName) on column \(quoted(column)): a value must be a string, number, boolean or null, got \(json.kindName)"
            )
        }
    }

    private func keyList(_ members: [JSONDocument.Member]) -> String {
        let shown = members.prefix(8).map { quoted($0.key) }.joined(separator: ", ")
        return members.count > 8 ? shown + ", …" : shown
    }
}
