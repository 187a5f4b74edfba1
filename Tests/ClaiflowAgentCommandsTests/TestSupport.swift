import AsyncHTTPClient
import ClaiflowAgentCommands
import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowFlow
import Foundation
import Hummingbird
import Logging

/// Runs a Hummingbird server on 127.0.0.1 with an ephemeral port for the duration of `body`.
func withTestServer<T: Sendable>(
    _ handler: @escaping @Sendable (Request) async throws -> Response,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    try await withLoopbackServer(handler, body)
}

/// A failure of the test setup.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A JSON response.
func jsonResponse(_ status: HTTPResponse.Status, _ value: JSONValue, headers: [(String, String)] = []) -> Response {
    var fields = HTTPFields()
    fields[.contentType] = "application/json"
    for (name, value) in headers {
        fields.append(.init(name: .init(name)!, value: value))
    }
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
}

/// A plain-text response.
func textResponse(
    _ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8"
)
    -> Response
{
    var fields = HTTPFields()
    fields[.contentType] = contentType
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// Parses JSON text in tests.
func json(_ text: String) throws -> JSONValue {
    try JSONValue.parse(text)
}

/// Runs a command of a catalog.
func call(
    _ catalog: CommandCatalog, _ name: String, _ inputs: JSONValue? = nil, stepID: String = "step1"
) async throws -> JSONValue {
    guard let command = catalog.commands[name] else { throw TestFailure("command \(name) is not registered") }
    return try await command(FlowCommandCall(command: name, stepID: stepID, inputs: inputs))
}

/// The text a step would report for an error thrown by a command.
func stepErrorText(_ error: any Error) -> String {
    if let error = error as? FlowCommandError { return error.message }
    return String(describing: error)
}

/// Runs a command that must fail, returning its error text.
func failure(
    _ catalog: CommandCatalog, _ name: String, _ inputs: JSONValue? = nil
) async -> String? {
    do {
        _ = try await call(catalog, name, inputs)
        return nil
    } catch {
        return stepErrorText(error)
    }
}

/// Every temporary directory of this test process lives here; removed when the process exits.
private let temporaryRootPath = FileManager.default.temporaryDirectory
    .appendingPathComponent("claiflow-commands-tests-\(getpid())").path
private let temporaryRootCleanup: Void = {
    atexit { try? FileManager.default.removeItem(atPath: temporaryRootPath) }
}()

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
    _ = temporaryRootCleanup
    let url = URL(fileURLWithPath: temporaryRootPath).appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The shared HTTP client of the tests.
let testHTTPClient = HTTPClient.shared

/// A catalog with only the given overrides.
func makeCatalog(
    kubernetes: KubernetesAccess? = nil, helmPath: String? = nil,
    credentialStore: CredentialStoreConfiguration = .disabled
) throws -> CommandCatalog {
    try CommandCatalog.builtin(
        CommandConfiguration(
            httpClient: testHTTPClient, kubernetes: kubernetes, helmPath: helmPath, credentialStore: credentialStore))
}
