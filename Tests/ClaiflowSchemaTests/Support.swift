import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

/// Files shared by the workspace (conformance suites, reference data), found relative to this
/// source file (`Tests/ClaiflowSchemaTests/` → `../../../shared`) or at `$CLAIFLOW_SHARED_DIR`.
enum Shared {
    static let directory: URL = {
        if let dir = ProcessInfo.processInfo.environment["CLAIFLOW_SHARED_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent()  // ClaiflowSchemaTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repository
            .deletingLastPathComponent()  // workspace
            .appendingPathComponent("shared", isDirectory: true)
    }()

    static var testSuite: URL { directory.appendingPathComponent("conformance/json-schema-test-suite", isDirectory: true) }
    static var templates: URL { directory.appendingPathComponent("reference/claiflow-default-templates.json") }

    /// Parses a JSON file; records an issue and returns nil when it cannot.
    static func json(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("cannot read \(url.path)", sourceLocation: sourceLocation)
            return nil
        }
        do {
            return try JSONValue.parse(data)
        } catch {
            Issue.record("cannot parse \(url.path): \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }
}

/// Compiles a schema given as JSON text, recording an issue when it does not compile.
func compile(
    _ text: String, options: JSONSchema.Options = .init(), sourceLocation: SourceLocation = #_sourceLocation
) -> JSONSchema? {
    do {
        return try JSONSchema(text: text, options: options)
    } catch {
        Issue.record("schema does not compile: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parses JSON text (test literal).
func json(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue {
    do {
        return try JSONValue.parse(text)
    } catch {
        Issue.record("bad JSON literal in test: \(error)", sourceLocation: sourceLocation)
        return .null
    }
}

/// The message of the error a schema's compilation throws, or nil when it compiles.
func compileError(_ text: String, options: JSONSchema.Options = .init()) -> ClaiflowError? {
    do {
        _ = try JSONSchema(text: text, options: options)
        return nil
    } catch {
        return error
    }
}
