import ClaiflowCore
import Hummingbird

/// The sign-in form's CSRF token, before any session exists (against login CSRF: a page of
/// another site posting its own API key to `/ui/login` would sign the browser in as the
/// attacker). A double-submit cookie: `GET /ui/login` sets a random token in the cookie
/// `claiflow_login_csrf` (HttpOnly, SameSite=Strict, only sent to `/ui/login`) and in the
/// form's hidden `_csrf` field; the POST must carry both, equal (compared in constant time).
/// Another site can neither read the cookie nor make the browser send it (SameSite=Strict).
enum LoginCSRF {
    /// The cookie that carries the token.
    static let cookieName = "claiflow_login_csrf"

    /// The token of the request's cookie when it looks like one of ours, else a new one.
    static func token(_ request: Request) -> String {
        if let t = ConsoleSessions.cookie(cookieName, in: request.headers[.cookie]), isWellFormed(t) { return t }
        return Hex.encode(Secrets.randomBytes(16))
    }

    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 32 && token.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// `Set-Cookie` for the token (an hour; a fresh sign-in page renews it).
    static func set(_ token: String, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/ui/login; Max-Age=3600; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// `Set-Cookie` that removes the token (after a sign-in).
    static func clear(secure: Bool) -> String {
        "\(cookieName)=; Path=/ui/login; Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// Whether a sign-in POST carries the same token in its cookie and its form.
    static func accepts(_ request: Request, form: FormData) -> Bool {
        guard let cookie = ConsoleSessions.cookie(cookieName, in: request.headers[.cookie]), isWellFormed(cookie),
            let field = form[ConsoleSessions.csrfField]
        else { return false }
        return Secrets.constantTimeEqual(cookie, field)
    }
}
