import ClaiflowCore
import ClaiflowSchema
import Foundation
import Testing

/// Runs the official JSON-Schema-Test-Suite (json-schema-org/JSON-Schema-Test-Suite), found as
/// `Shared.testSuiteDirectory` says (CI: `../shared/conformance/json-schema-test-suite`; elsewhere
/// `scripts/fetch-json-schema-suite.sh`). Every test, required and optional (format assertions
/// on), must pass except those listed in `exclusions` with their reason (kept in step with
/// docs/json-schema.md); an exclusion that starts passing fails too, so the list stays true.
@Suite(
    "JSON-Schema-Test-Suite",
    .enabled(if: Shared.testSuiteDirectory != nil, Comment(rawValue: Shared.missingSuite)))
struct ConformanceTests {
    /// Tests known to fail, as "file: group description / test description", with the reason.
    static let exclusions: [String: String] = [
        "draft7/optional/content.json: validation of string-encoded content based on media type / an invalid JSON document":
            contentIsAnnotation,
        "draft7/optional/content.json: validation of binary string-encoding / an invalid base64 string (% is not a valid character)":
            contentIsAnnotation,
        "draft7/optional/content.json: validation of binary-encoded media type documents / a validly-encoded invalid JSON document":
            contentIsAnnotation,
        "draft7/optional/content.json: validation of binary-encoded media type documents / an invalid base64 string that is valid JSON":
            contentIsAnnotation,
        "draft7/optional/cross-draft.json: refs to future drafts are processed as future drafts / missing bar is invalid":
            draft2019IsUnsupported,
        "draft7/optional/cross-draft.json: refs to future drafts are processed as future drafts / present bar is valid":
            draft2019IsUnsupported,
        "draft2020-12/optional/cross-draft.json: refs to historic drafts are processed as historic drafts / first item not a string is valid":
            draft2019IsUnsupported,
        "draft7/optional/format/ecmascript-regex.json: ECMA 262 lookbehind is valid, including variable width / a variable-width lookbehind (ES2018)":
            variableWidthLookbehind,
        "draft2020-12/optional/format/ecmascript-regex.json: ECMA 262 lookbehind is valid, including variable width / a variable-width lookbehind (ES2018)":
            variableWidthLookbehind,
    ]
    static let contentIsAnnotation =
        "contentEncoding/contentMediaType are annotations only: draft-07 lets a validator skip them, and template inputs never use them"
    static let draft2019IsUnsupported =
        "draft 2019-09 is not supported (draft-07 and 2020-12 are); a schema naming it is refused with a clear error"
    static let variableWidthLookbehind =
        "the regex engine (Foundation's ICU) refuses variable-width lookbehind, which ECMA-262 2018 allows"

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
                                "\(id): expected \(valid ? "valid" : "invalid"), got \(valid ? violations.map(\.description).joined(separator: "; ") : "valid")"
                            )
                        }
                    }
                }
            }
        }
        return outcome
    }

    /// Records every failure not excluded, and every exclusion of these files that no longer fails.
    static func check(_ outcome: Outcome, files: [URL], label: (URL) -> String) {
        let failed = Set(
            outcome.failures.map { failure in
                Self.exclusions.keys.first { failure.hasPrefix($0 + ":") } ?? failure
            })
        for failure in outcome.failures where !Self.exclusions.keys.contains(where: { failure.hasPrefix($0 + ":") }) {
            Issue.record(Comment(rawValue: failure))
        }
        let labels = Set(files.map(label))
        for excluded in Self.exclusions.keys.sorted() where !failed.contains(excluded) {
            guard let file = excluded.split(separator: ":").first, labels.contains(String(file)) else { continue }
            Issue.record("\(excluded): excluded but passes now; remove it from the exclusions and docs/json-schema.md")
        }
    }

    func required(_ draftDirectory: String, _ draft: JSONSchema.Draft) {
        let directory = Shared.testSuite.appendingPathComponent("tests/\(draftDirectory)")
        let files = Self.files(directory)
        #expect(!files.isEmpty, "no test files in \(directory.path)")
        let label: (URL) -> String = { "\(draftDirectory)/\($0.lastPathComponent)" }
        let outcome = Self.run(files: files, options: .init(defaultDraft: draft), label: label)
        print("JSON-Schema-Test-Suite \(draftDirectory): \(outcome.passed)/\(outcome.total) passed")
        Self.check(outcome, files: files, label: label)
    }

    func optional(_ draftDirectory: String, _ draft: JSONSchema.Draft) {
        let directory = Shared.testSuite.appendingPathComponent("tests/\(draftDirectory)/optional")
        let generalFiles = Self.files(directory)
        let formatFiles = Self.files(directory.appendingPathComponent("format"))
        #expect(!generalFiles.isEmpty && !formatFiles.isEmpty, "no optional test files in \(directory.path)")
        let generalLabel: (URL) -> String = { "\(draftDirectory)/optional/\($0.lastPathComponent)" }
        let formatLabel: (URL) -> String = { "\(draftDirectory)/optional/format/\($0.lastPathComponent)" }
        let general = Self.run(files: generalFiles, options: .init(defaultDraft: draft), label: generalLabel)
        let formats = Self.run(
            files: formatFiles, options: .init(defaultDraft: draft, assertFormats: true), label: formatLabel)
        print("JSON-Schema-Test-Suite \(draftDirectory) optional: \(general.passed)/\(general.total) passed")
        print(
            "JSON-Schema-Test-Suite \(draftDirectory) optional/format (assertFormats): \(formats.passed)/\(formats.total) passed")
        Self.check(general, files: generalFiles, label: generalLabel)
        Self.check(formats, files: formatFiles, label: formatLabel)
    }

    @Test func draft7() { required("draft7", .draft7) }
    @Test func draft2020_12() { required("draft2020-12", .draft2020_12) }
    @Test func draft7Optional() { optional("draft7", .draft7) }
    @Test func draft2020_12Optional() { optional("draft2020-12", .draft2020_12) }
}
