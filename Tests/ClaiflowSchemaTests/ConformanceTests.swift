import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

/// Runs the official JSON-Schema-Test-Suite (json-schema-org/JSON-Schema-Test-Suite) from
/// `shared/conformance/json-schema-test-suite`. Every required test must pass except those in
/// `exclusions` (documented in docs/json-schema.md); `optional/` is run for information only.
@Suite("JSON-Schema-Test-Suite")
struct ConformanceTests {
    /// Tests known to fail, as "file: group description / test description". Keep in sync with
    /// docs/json-schema.md.
    static let exclusions: Set<String> = []

    struct Outcome {
        var passed = 0
        var total = 0
        var failures: [String] = []
    }

    /// Serves `http://localhost:1234/…` from the suite's `remotes/` directory, as the suite expects.
    static let remoteLoader: RemoteSchemaLoader = { uri in
        let prefix = "http://localhost:1234/"
        guard uri.hasPrefix(prefix) else { return nil }
        let relative = String(uri.dropFirst(prefix.count))
        guard !relative.contains("..") else { return nil }
        let url = Shared.testSuite.appendingPathComponent("remotes").appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONValue.parse(data)
    }

    static func files(_ directory: URL) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0) }
    }

    static func run(files: [URL], options: JSONSchema.Options, label: (URL) -> String) -> Outcome {
        var outcome = Outcome()
        for file in files {
            guard case .array(let groups)? = Shared.json(file) else {
                outcome.failures.append("\(label(file)): unreadable")
                continue
            }
            for group in groups {
                guard case .object(let g) = group, case .string(let description)? = g["description"],
                    let schemaValue = g["schema"], case .array(let tests)? = g["tests"]
                else { continue }
                let schema: Result<JSONSchema, ClaiflowError> = Result { () throws(ClaiflowError) in
                    try JSONSchema(schemaValue, options: options, loader: remoteLoader)
                }
                for test in tests {
                    guard case .object(let t) = test, case .string(let name)? = t["description"], let data = t["data"],
                        case .bool(let valid)? = t["valid"]
                    else { continue }
                    outcome.total += 1
                    let id = "\(label(file)): \(description) / \(name)"
                    switch schema {
                    case .failure(let error):
                        outcome.failures.append("\(id): schema did not compile: \(error.message)")
                    case .success(let compiled):
                        let violations = compiled.validate(data)
                        let quick = compiled.isValid(data)
                        if violations.isEmpty == valid && quick == valid {
                            outcome.passed += 1
                        } else if violations.isEmpty != quick {
                            outcome.failures.append("\(id): validate() and isValid() disagree (\(violations))")
                        } else {
                            outcome.failures.append(
                                "\(id): expected \(valid ? "valid" : "invalid"), got \(valid ? violations.map(\.description).joined(separator: "; ") : "valid")")
                        }
                    }
                }
            }
        }
        return outcome
    }

    func required(_ draftDirectory: String, _ draft: JSONSchema.Draft) {
        let directory = Shared.testSuite.appendingPathComponent("tests/\(draftDirectory)")
        let files = Self.files(directory)
        #expect(!files.isEmpty, "no test files in \(directory.path)")
        let outcome = Self.run(
            files: files, options: .init(defaultDraft: draft), label: { "\(draftDirectory)/\($0.lastPathComponent)" })
        print("JSON-Schema-Test-Suite \(draftDirectory): \(outcome.passed)/\(outcome.total) passed")
        let unexpected = outcome.failures.filter { failure in
            !Self.exclusions.contains { failure.hasPrefix($0 + ":") }
        }
        for failure in unexpected { Issue.record(Comment(rawValue: failure)) }
    }

    func optional(_ draftDirectory: String, _ draft: JSONSchema.Draft) {
        let directory = Shared.testSuite.appendingPathComponent("tests/\(draftDirectory)/optional")
        let label: (URL) -> String = { "\(draftDirectory)/optional/\($0.lastPathComponent)" }
        let general = Self.run(files: Self.files(directory), options: .init(defaultDraft: draft), label: label)
        let formats = Self.run(
            files: Self.files(directory.appendingPathComponent("format")),
            options: .init(defaultDraft: draft, assertFormats: true),
            label: { "\(draftDirectory)/optional/format/\($0.lastPathComponent)" })
        print("JSON-Schema-Test-Suite \(draftDirectory) optional: \(general.passed)/\(general.total) passed")
        print("JSON-Schema-Test-Suite \(draftDirectory) optional/format (assertFormats): \(formats.passed)/\(formats.total) passed")
        if ProcessInfo.processInfo.environment["CLAIFLOW_SCHEMA_VERBOSE"] != nil {
            for failure in general.failures + formats.failures { print("  optional failure: \(failure)") }
        }
    }

    @Test func draft7() { required("draft7", .draft7) }
    @Test func draft2020_12() { required("draft2020-12", .draft2020_12) }
    @Test func draft7Optional() { optional("draft7", .draft7) }
    @Test func draft2020_12Optional() { optional("draft2020-12", .draft2020_12) }
}
