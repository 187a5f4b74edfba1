import ClaiflowCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The console's page templates and static files, read once from the binary's resources.
struct ConsolePages: Sendable {
    let library: MustacheLibrary
    /// Static files by name: contents and content type.
    let statics: [String: (bytes: [UInt8], type: String)]

    /// Loads the templates (`*.mustache`) and static files (`*.css`, `*.js`) of `Resources/console`.
    static func load() async throws -> ConsolePages {
        guard let dir = Bundle.module.url(forResource: "console", withExtension: nil) else {
            throw ClaiflowError(.internal, "the console's resources are missing from this build")
        }
        let library = try await MustacheLibrary(directory: dir.path)
        var statics: [String: (bytes: [UInt8], type: String)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let type: String
            if name.hasSuffix(".css") {
                type = "text/css; charset=utf-8"
            } else if name.hasSuffix(".js") {
                type = "text/javascript; charset=utf-8"
            } else if name.hasSuffix(".svg") {
                type = "image/svg+xml"
            } else {
                continue
            }
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            statics[name] = (Array(data), type)
        }
        return ConsolePages(library: library, statics: statics)
    }

    /// A rendered page: `template` inside the layout, with the navigation and session fields.
    func page(
        _ template: String, title: String, context: AppRequestContext, _ values: [String: Any], status: HTTPResponse.Status = .ok
    ) -> Response {
        // A nil optional would render as "nil": absent keys are false to a template.
        var v = values.filter { !Self.isNil($0.value) }
        v["title"] = title
        if let s = context.consoleSession {
            v["session"] = ["name": s.keyName, "role": s.role.rawValue, "csrf": s.csrfToken] as [String: Any]
            v["canWrite"] = s.role >= .operator
            v["isAdmin"] = s.role >= .admin
        }
        if let since = context.eventsSince { v["eventsSince"] = since }
        v["nav_" + template.prefix(while: { $0 != "_" })] = true
        let html = library.render(v, withTemplate: template) ?? "template \(template) is missing"
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                .xFrameOptions: "DENY",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func isNil(_ value: Any) -> Bool {
        let m = Mirror(reflecting: value)
        return m.displayStyle == .optional && m.children.isEmpty
    }

    /// A static file, or 404.
    func file(_ name: String) throws -> Response {
        guard let f = statics[name] else { throw ClaiflowError.notFound("file", name) }
        return Response(
            status: .ok, headers: [.contentType: f.type, .cacheControl: "max-age=300"],
            body: .init(byteBuffer: ByteBuffer(bytes: f.bytes)))
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
}
