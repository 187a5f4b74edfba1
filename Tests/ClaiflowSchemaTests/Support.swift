import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

/// Where the tests find the official JSON-Schema-Test-Suite, which is not part of the repository:
/// `$CLAIFLOW_JSON_SCHEMA_SUITE`, else `../shared/conformance/json-schema-test-suite` beside the
/// repository (CI's workspace), else `.build/json-schema-test-suite` (where
/// `scripts/fetch-json-schema-suite.sh` puts it). Absent everywhere: the conformance tests are skipped.
enum Shared {
    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // ClaiflowSchemaTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository

    /// The suite's directory, or nil when it is nowhere to be found.
    static let testSuiteDirectory: URL? = {
        if let dir = ProcessInfo.processInfo.environment["CLAIFLOW_JSON_SCHEMA_SUITE"], !dir.isEmpty {
            // Named explicitly: used even when wrong, so that the test fails and says so.
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        let candidates = [
            repository.deletingLastPathComponent().appendingPathComponent("shared/conformance/json-schema-test-suite"),
            repository.appendingPathComponent(".build/json-schema-test-suite"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("tests").path) }
    }()

    static var testSuite: URL { testSuiteDirectory ?? repository.appendingPathComponent(".build/json-schema-test-suite") }

    /// Why the conformance tests are skipped.
    static let missingSuite =
        "JSON-Schema-Test-Suite not found (set CLAIFLOW_JSON_SCHEMA_SUITE, or run scripts/fetch-json-schema-suite.sh): conformance tests skipped"

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
