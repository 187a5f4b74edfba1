import ClaiflowAPIClient
import ClaiflowCore
import Foundation

/// Follows one service until it ends: on a terminal one line rewritten in place (`step n/m
/// status`), otherwise a plain line for each change.
public struct ServiceFollower: Sendable {
    /// The client.
    public let client: CLIClient
    /// How long to wait between two reads.
    public var interval: Duration = .milliseconds(500)

    /// Creates a follower.
    public init(client: CLIClient) { self.client = client }

    /// Reads the service until its status is final, writing its progress with `write`
    /// (`interactive`: rewrite one line); returns the last read.
    public func follow(
        cluster: String, uuid: String, interactive: Bool, write: @Sendable (String) -> Void
    ) async throws -> Components.Schemas.Service {
        var last = ""
        while true {
            let service = try await client.api.getClusterService(path: .init(uuid: cluster, serviceUuid: uuid)).ok.body.json
            let line = Self.progress(service)
            if line != last {
                write(interactive ? "\r\u{1B}[K" + line : line + "\n")
                last = line
            }
            if Self.isFinal(service.status) {
                if interactive { write("\n") }
                return service
            }
            try await Task.sleep(for: interval)
        }
    }

    /// `step 2/3 processing`, with the last message when there is one.
    public static func progress(_ s: Components.Schemas.Service) -> String {
        var line = "\(s.clusterUuid)/\(s.uuid): step \(ResourceTables.step(s)) \(ResourceTables.word(s.status))"
        if let message = s.statuses?.last?.message, !message.isEmpty { line += ": \(message)" }
        return line
    }

    /// Whether the status will not change any more.
    public static func isFinal(_ status: Components.Schemas.ServiceStatus) -> Bool {
        ServiceStatus(rawValue: status.rawValue)?.isTerminal ?? true
    }

    /// The service's result as JSON text (a result that is not JSON as a JSON string), indented.
    public static func resultJSON(_ text: String) -> String {
        guard let value = try? JSONValue.parse(text) else { return (try? OutputPrinter.json(text)) ?? text }
        return (try? OutputPrinter.json(AnyJSON(value))) ?? text
    }
}

/// A ClaiflowCore JSON value as an Encodable (for printing results as JSON or YAML).
public struct AnyJSON: Encodable, Sendable {
    /// The value.
    public let value: JSONValue

    /// Wraps a value.
    public init(_ value: JSONValue) { self.value = value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let items): try container.encode(items.map(AnyJSON.init))
        case .object(let members): try container.encode(members.mapValues(AnyJSON.init))
        }
    }
}
