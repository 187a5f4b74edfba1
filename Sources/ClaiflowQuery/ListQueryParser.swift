import ClaiflowCore

/// Parses the `q` (condition), `o` (order) and `p` (pagination) query parameters of a list
/// endpoint into a validated `ListQuery`.
///
/// Every column is checked against the table's whitelist and every value is coerced to its
/// column's type; anything invalid throws `ClaiflowError(.invalidArgument, …)` with a message that
/// names the parameter and says exactly what is wrong. No SQL text is ever produced here.
///
/// - `q`: a condition, either as JSON (`{"and":[{"eq":{"name":"foo"}},{"gt":{"created":"2024-01-01"}}]}`)
///   or, when it starts with `(`, as an s-expression (`(and (eq name "foo") (gt created "2024-01-01"))`).
/// - `o`: JSON order, `{"asc":"name"}`, `{"desc":["a","b"]}` (only the last column of a group
///   gets the group's direction: `a ASC, b DESC`) or an array of those.
/// - `p`: JSON pagination, `{"limit":10,"page":3}` or an array of those (later entries win).
public struct ListQueryParser: Sendable {
    /// The longest `q`, `o` or `p` accepted, in Unicode scalars (after trimming).
    public static let maxParameterLength = 8192
    /// The deepest nesting of conditions accepted (a single comparison has depth 1).
    public static let maxConditionDepth = ConditionBuilder.maxDepth
    /// The most values accepted in one `in` list.
    public static let maxInValues = ConditionBuilder.maxInValues
    /// The most ORDER BY terms accepted.
    public static let maxOrderTerms = 16
    /// The largest offset a page may reach.
    public static let maxOffset = 10_000_000

    /// The table whose columns may be used.
    public let schema: TableSchema
    /// The limit used when `p` is given without a limit (or with limit 0).
    public let defaultLimit: Int
    /// The largest limit a client may ask for.
    public let maxLimit: Int
    /// The limit applied when `p` is absent, or nil for no limit.
    public let unpagedLimit: Int?

    /// Creates a parser for a table.
    public init(schema: TableSchema, defaultLimit: Int = 127, maxLimit: Int = 1000, unpagedLimit: Int? = nil) {
        self.schema = schema
        self.defaultLimit = defaultLimit
        self.maxLimit = maxLimit
        self.unpagedLimit = unpagedLimit
    }

    /// Parses the three parameters. `q`, `o` and `p` are the raw (already URL-decoded) values,
    /// nil when absent; blank values count as absent.
    public func parse(q: String?, o: String?, p: String?) throws(ClaiflowError) -> ListQuery {
        ListQuery(condition: try parseCondition(q), order: try parseOrder(o), page: try parsePage(p))
    }

    /// Parses `q`: nil when absent or blank, otherwise the condition.
    public func parseCondition(_ q: String?) throws(ClaiflowError) -> Condition? {
        guard let text = try given(q, parameter: "q") else { return nil }
        return try prefixed("q") { () throws(ClaiflowError) -> Condition in
            let builder = ConditionBuilder(schema: schema)
            if text.unicodeScalars.first == "(" {
                return try SExprConditionCompiler(builder: builder).compile(try SExprReader.read(text))
            }
            let json = try JSONDocumentParser.parse(text)
            guard case .object = json else {
                throw ClaiflowError(
                    .invalidArgument,
                    "expected a JSON object like {\"eq\":{\"column\":value}} or an s-expression like (eq column value), got \(json.kindName)"
                )
            }
            return try JSONConditionCompiler(builder: builder).compile(json)
        }
    }

    /// Parses `o`: empty when absent or blank, otherwise the ORDER BY terms in order.
    public func parseOrder(_ o: String?) throws(ClaiflowError) -> [OrderTerm] {
        guard let text = try given(o, parameter: "o") else { return [] }
        return try prefixed("o") { () throws(ClaiflowError) -> [OrderTerm] in
            var terms: [OrderTerm] = []
            try collectOrder(try JSONDocumentParser.parse(text), into: &terms)
            return terms
        }
    }

    /// Parses `p`: when absent or blank, `unpagedLimit` at offset 0 (nil when that is nil);
    /// otherwise the requested page.
    public func parsePage(_ p: String?) throws(ClaiflowError) -> Page? {
        guard let text = try given(p, parameter: "p") else {
            return unpagedLimit.map { Page(limit: $0, offset: 0) }
        }
        return try prefixed("p") { () throws(ClaiflowError) -> Page in
            var settings = PageSettings()
            try collectPage(try JSONDocumentParser.parse(text), into: &settings)
            let limit = settings.limit == nil || settings.limit == 0 ? defaultLimit : Int(settings.limit ?? 0)
            let page = settings.page ?? 1
            let (offset, overflow) = (page - 1).multipliedReportingOverflow(by: Int64(limit))
            guard !overflow, offset <= Int64(Self.maxOffset) else {
                throw ClaiflowError(
                    .invalidArgument,
                    "page \(settings.pageText ?? String(page)) is too large: the offset (page - 1) × limit "
                        + "must not exceed \(Self.maxOffset)")
            }
            return Page(limit: limit, offset: Int(offset))
        }
    }

    // MARK: - Helpers

    /// The trimmed value of a parameter, nil when absent or blank; throws when too long or when
    /// it holds a NUL character.
    private func given(_ value: String?, parameter: String) throws(ClaiflowError) -> String? {
        guard let value else { return nil }
        let text = trimmed(value)
        guard !text.isEmpty else { return nil }
        let length = text.unicodeScalars.count
        guard length <= Self.maxParameterLength else {
            throw ClaiflowError(
                .invalidArgument,
                "parameter \(parameter): too long (\(length) characters; at most \(Self.maxParameterLength) are allowed)")
        }
        guard !TextField.containsNUL(text) else {
            throw ClaiflowError(.invalidArgument, "parameter \(parameter): must not contain the NUL character (U+0000)")
        }
        return text
    }

    /// Runs a body, prefixing the message of any error it throws with the parameter name.
    private func prefixed<T>(_ parameter: String, _ body: () throws(ClaiflowError) -> T) throws(ClaiflowError) -> T {
        do {
            return try body()
        } catch {
            throw ClaiflowError(error.kind, "parameter \(parameter): \(error.message)")
        }
    }

    // MARK: - Order

    private func collectOrder(_ json: JSONDocument, into terms: inout [OrderTerm]) throws(ClaiflowError) {
        switch json {
        case .array(let elements):
            for element in elements {
                try collectOrder(element, into: &terms)
            }
        case .object(let members):
            guard members.count == 1 else {
                if members.isEmpty {
                    throw ClaiflowError(
                        .invalidArgument, "empty order object; expected {\"asc\": columns} or {\"desc\": columns}")
                }
                let keys = Set(members.map { $0.key.lowercased() })
                if keys.contains("asc") && keys.contains("desc") {
                    throw ClaiflowError(
                        .invalidArgument,
                        "an order object must not contain both asc and desc; use an array like [{\"asc\":\"a\"},{\"desc\":\"b\"}]"
                    )
                }
                throw ClaiflowError(
                    .invalidArgument,
                    "an order object must have exactly one key (asc or desc), got \(members.count); "
                        + "use an array like [{\"asc\":\"a\"},{\"desc\":\"b\"}]")
            }
            let direction = members[0].key
            let descending: Bool
            switch direction.lowercased() {
            case "asc": descending = false
            case "desc": descending = true
            default:
                throw ClaiflowError(.invalidArgument, "unknown order direction \(quoted(direction)); expected asc or desc")
            }
            var columns: [String] = []
            try collectColumns(members[0].value, direction: direction.lowercased(), into: &columns, already: terms.count)
            guard !columns.isEmpty else {
                throw ClaiflowError(.invalidArgument, "order direction \(direction.lowercased()) has no columns")
            }
            // Compatibility: {"desc":["a","b"]} means `a, b DESC`: only the last column of a group
            // gets the group's direction.
            for (i, column) in columns.enumerated() {
                terms.append(OrderTerm(column: column, descending: descending && i == columns.count - 1))
            }
        default:
            throw ClaiflowError(
                .invalidArgument,
                "expected an order object like {\"asc\":\"column\"} or an array of them, got \(json.kindName)")
        }
    }

    private func collectColumns(
        _ json: JSONDocument, direction: String, into columns: inout [String], already: Int
    ) throws(ClaiflowError) {
        switch json {
        case .string(let column):
            guard schema.type(of: column) != nil else { throw unknownColumn(column, in: schema) }
            guard already + columns.count < Self.maxOrderTerms else {
                throw ClaiflowError(.invalidArgument, "too many order columns; at most \(Self.maxOrderTerms) are allowed")
            }
            columns.append(column)
        case .array(let elements):
            for element in elements {
                try collectColumns(element, direction: direction, into: &columns, already: already)
            }
        default:
            throw ClaiflowError(
                .invalidArgument,
                "order direction \(direction) expects a column name or an array of column names, got \(json.kindName)")
        }
    }

    // MARK: - Pagination

    /// The pagination keys seen so far (later ones override earlier ones).
    private struct PageSettings {
        var limit: Int64?
        var page: Int64?
        var pageText: String?
    }

    private func collectPage(_ json: JSONDocument, into settings: inout PageSettings) throws(ClaiflowError) {
        switch json {
        case .array(let elements):
            for element in elements {
                try collectPage(element, into: &settings)
            }
        case .object(let members):
            guard !members.isEmpty else {
                throw ClaiflowError(.invalidArgument, "empty pagination object; expected {\"limit\": n, \"page\": n}")
            }
            for member in members {
                let key = member.key
                let value = member.value
                switch key.lowercased() {
                case "limit":
                    let (limit, text) = try pageNumber(value, key: "limit")
                    guard limit >= 0 else {
                        throw ClaiflowError(.invalidArgument, "limit must not be negative, got \(text)")
                    }
                    guard limit <= Int64(maxLimit) else {
                        throw ClaiflowError(.invalidArgument, "limit \(text) exceeds the maximum of \(maxLimit)")
                    }
                    settings.limit = limit
                case "page":
                    let (page, text) = try pageNumber(value, key: "page")
                    guard page > 0 else {
                        throw ClaiflowError(.invalidArgument, "page must be at least 1, got \(text)")
                    }
                    settings.page = page
                    settings.pageText = text
                default:
                    throw ClaiflowError(.invalidArgument, "unknown pagination key \(quoted(key)); expected limit or page")
                }
            }
        default:
            throw ClaiflowError(
                .invalidArgument,
                "expected a pagination object like {\"limit\":10,\"page\":2} or an array of them, got \(json.kindName)")
        }
    }

    /// A pagination number (a JSON number or a numeric string), truncated toward zero and
    /// saturated at the Int64 range, with its text for messages.
    private func pageNumber(_ json: JSONDocument, key: String) throws(ClaiflowError) -> (Int64, String) {
        let text: String
        let display: String
        switch json {
        case .number(let n):
            text = n
            display = n
        case .string(let s):
            text = trimmed(s)
            display = quoted(s)
        default:
            throw ClaiflowError(.invalidArgument, "\(key) must be a number, got \(json.kindName)")
        }
        switch DecimalText.scaled(text, by: 0) {
        case .value(let v, _): return (v, display)
        case .overflow(let negative): return (negative ? Int64.min : Int64.max, display)
        case .invalid: throw ClaiflowError(.invalidArgument, "\(key) must be a number, got \(display)")
        }
    }
}
