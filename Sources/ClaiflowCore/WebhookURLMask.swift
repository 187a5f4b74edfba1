/// Masks the credentials a webhook URL may carry, the way header values are masked: the user
/// information (`https://user:secret@host/…` → `https://********:********@host/…`) and the values
/// of token-like query parameters (`?token=…`, `access_token`, `api_key`, `key`, `secret`,
/// `signature`, `sig`, `password`, and names ending in `_token`, `_key`, `_secret`, …).
///
/// Everything else is left byte for byte as it was, so a masked URL sent back unchanged can be
/// recognised (``masked(_:)`` of the stored URL) and the real one kept.
public enum WebhookURLMask {
    /// What a credential is shown as.
    public static let mask = "********"

    /// Query parameter names (lower-cased, `-` read as `_`) whose values are credentials.
    static let sensitiveNames: Set<String> = [
        "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "api_key", "apikey", "key", "secret",
        "client_secret", "signature", "sig", "password", "passwd", "pwd", "credential", "credentials",
    ]
    /// Suffixes (after `_` or `-`) that make a query parameter name a credential.
    static let sensitiveSuffixes = [
        "_token", "_key", "_secret", "_signature", "_sig", "_password", "_credential", "_apikey",
    ]

    /// The URL with its credentials masked; unchanged when it has none.
    public static func masked(_ url: String) -> String { rewritten(url) { _ in mask } }

    /// Whether the URL holds ``mask`` where a credential goes (it was copied from a masked view).
    public static func holdsMask(_ url: String) -> Bool {
        var found = false
        _ = rewritten(url) { value in
            if value == mask { found = true }
            return value
        }
        return found
    }

    /// Whether a query parameter (its raw, still percent-encoded name) holds a credential.
    public static func isSensitive(parameter rawName: Substring) -> Bool {
        let decoded = String(rawName).removingPercentEscapes()
        let name = String(decoded.lowercased().map { $0 == "-" ? "_" : $0 })
        return sensitiveNames.contains(name) || sensitiveSuffixes.contains { name.hasSuffix($0) }
    }

    /// The URL with every credential (user, password, sensitive query value) replaced by
    /// `replace(credential)`; all other characters are kept as they are.
    static func rewritten(_ url: String, _ replace: (String) -> String) -> String {
        guard let schemeEnd = url.range(of: "://")?.upperBound else { return url }
        let authorityEnd = url[schemeEnd...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        let fragmentStart = url[authorityEnd...].firstIndex(of: "#") ?? url.endIndex
        let queryStart = url[authorityEnd..<fragmentStart].firstIndex(of: "?")
        var out = String(url[..<schemeEnd])
        var hostStart = schemeEnd
        if let at = url[schemeEnd..<authorityEnd].lastIndex(of: "@") {
            let userinfo = url[schemeEnd..<at]
            out += userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : replace(String($0)) }.joined(separator: ":")
            out += "@"
            hostStart = url.index(after: at)
        }
        out += url[hostStart..<(queryStart ?? fragmentStart)]
        if let queryStart {
            out += "?"
            let query = url[url.index(after: queryStart)..<fragmentStart]
            out += query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
                guard let eq = pair.firstIndex(of: "="), isSensitive(parameter: pair[..<eq]) else { return String(pair) }
                let value = pair[pair.index(after: eq)...]
                return value.isEmpty ? String(pair) : String(pair[...eq]) + replace(String(value))
            }.joined(separator: "&")
        }
        out += url[fragmentStart...]
        return out
    }
}

extension String {
    /// The string with `%XX` escapes decoded where they form UTF-8; others are kept as written.
    fileprivate func removingPercentEscapes() -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(self.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "%"), utf8.count >= 2,
                let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
