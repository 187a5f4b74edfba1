import AsyncHTTPClient
import ClaiflowCore
import ClaiflowFlow
import Foundation
import Logging
import NIOCore
import NIOSSL

/// A minimal client of the Kubernetes REST API over the shared ``HTTPClient``.
struct KubernetesClient: Sendable {
    let access: KubernetesAccess
    let httpClient: HTTPClient
    let logger: Logger
    /// nil for plain-HTTP base URLs.
    let tlsConfiguration: TLSConfiguration?
    let baseURL: String

    /// The largest response body accepted.
    static let maximumResponseBytes = 64 * 1024 * 1024

    init(access: KubernetesAccess, httpClient: HTTPClient, logger: Logger) throws {
        self.access = access
        self.httpClient = httpClient
        self.logger = logger
        var base = access.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            url.host != nil
        else {
            throw KubernetesConfigurationError("Kubernetes API server URL \"\(access.baseURL)\" is not an http(s) URL")
        }
        baseURL = base
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = access.certificateAuthorityPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
            } catch {
                throw KubernetesConfigurationError("the Kubernetes CA bundle is not valid PEM: \(error)")
            }
        }
        if access.insecureSkipTLSVerify { tls.certificateVerification = .none }
        if case .clientCertificate(let certificatePEM, let keyPEM) = access.authentication {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            } catch {
                throw KubernetesConfigurationError("the Kubernetes client certificate or key is not valid PEM: \(error)")
            }
        }
        tlsConfiguration = scheme == "https" ? tls : nil
    }

    /// Sends one request and returns the decoded JSON response; a non-2xx answer throws with the
    /// API server's Status message.
    func send(
        _ method: String,
        _ path: String,
        query: [(String, String)] = [],
        body: JSONValue? = nil,
        contentType: String = "application/json",
        timeout: TimeAmount = .seconds(10)
    ) async throws -> JSONValue {
        var url = baseURL + path
        if !query.isEmpty { url += "?" + Self.queryString(query) }
        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        request.tlsConfiguration = tlsConfiguration
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "claiflow-agent")
        if let token = try bearerToken() {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body.serialized()))
        }
        logger.debug("kubernetes request", metadata: ["method": "\(method)", "path": "\(path)"])
        let status: UInt
        let bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: timeout)
            status = response.status.code
            bytes = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw FlowCommandError("kubernetes API \(method) \(path): timed out after \(Self.describe(timeout))")
        } catch is CancellationError {
            throw CancellationError()
        } catch  where Task.isCancelled {
            // AsyncHTTPClient ends a cancelled request with its own error: the step was cancelled
            // (a `$timeout`, or the service canceled), not failed.
            throw CancellationError()
        } catch {
            throw FlowCommandError("kubernetes API \(method) \(path): \(error)")
        }
        let parsed = try? JSONValue.parse(bytes.readableBytesView)
        guard (200..<300).contains(status) else {
            throw KubernetesAPIError(
                status: status, message: Self.failureMessage(status: status, body: parsed, raw: bytes, method: method, path: path)
            )
        }
        guard let parsed else {
            throw FlowCommandError("kubernetes API \(method) \(path): the response is not JSON")
        }
        return parsed
    }

    /// The text of a failed call: the Status message, reason and code when the body is a Status.
    static func failureMessage(status: UInt, body: JSONValue?, raw: ByteBuffer, method: String, path: String) -> String {
        if let body, case .string(let message)? = body.field("message") {
            var text = "kubernetes API: \(message)"
            var facts: [String] = []
            if case .string(let reason)? = body.field("reason"), !reason.isEmpty { facts.append(reason) }
            facts.append("code \(status)")
            text += " (\(facts.joined(separator: ", ")))"
            return text
        }
        var snippet = String(decoding: raw.readableBytesView.prefix(512), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if snippet.isEmpty { snippet = "no body" }
        return "kubernetes API \(method) \(path): HTTP \(status): \(snippet)"
    }

    /// The bearer token to send, if the access uses one (a token file is read each time).
    func bearerToken() throws -> String? {
        switch access.authentication {
        case .bearerToken(let token): return token
        case .bearerTokenFile(let path):
            do {
                return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw FlowCommandError("cannot read the Kubernetes token file \(path): \(error.localizedDescription)")
            }
        case .none, .clientCertificate: return nil
        }
    }

    static func describe(_ timeout: TimeAmount) -> String {
        let nanoseconds = timeout.nanoseconds
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000) s" }
        return "\(Double(nanoseconds) / 1e9) s"
    }

    /// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
    static func escapeSegment(_ text: String) -> String { escape(text) }

    /// Percent-encodes a query name or value.
    static func escapeQuery(_ text: String) -> String { escape(text) }

    /// `name=value&…`, percent-encoded.
    static func queryString(_ query: [(String, String)]) -> String {
        query.map { "\(escapeQuery($0.0))=\(escapeQuery($0.1))" }.joined(separator: "&")
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

/// A non-2xx answer of the API server; its description is the step's error text.
struct KubernetesAPIError: Error, CustomStringConvertible {
    /// The HTTP status code.
    var status: UInt
    /// The error text (the Status message, reason and code).
    var message: String

    var description: String { message }
}
