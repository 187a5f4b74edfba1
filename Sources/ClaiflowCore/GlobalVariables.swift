/// The four global variables of the original product, with their fixed uuids, names and formats.
public enum KnownGlobalVariable: String, Sendable, CaseIterable {
    case clusterTokenExpirationTime = "0f5658f37f2b45d881f19c7f56ea2e23"
    case clientSessionSignatureSecret = "77f7b2aeb0aa4254ad073ae7743291ab"
    case clientSessionExpirationTime = "af9a14a58b254d13ae69c065a27811b6"
    case clientConfigServiceValidityPeriod = "bc2cd0f95b6d4db68870d30862523a04"

    /// The variable's uuid.
    public var uuid: String { rawValue }

    /// The variable's name, e.g. `ClusterToken/ExpirationTime`.
    public var name: String {
        switch self {
        case .clusterTokenExpirationTime: "ClusterToken/ExpirationTime"
        case .clientSessionSignatureSecret: "ClientSession/SignatureSecret"
        case .clientSessionExpirationTime: "ClientSession/ExpirationTime"
        case .clientConfigServiceValidityPeriod: "ClientConfig/ServiceValidityPeriod"
        }
    }

    /// Whether the value is a secret that is never returned by the API.
    public var isSecret: Bool { self == .clientSessionSignatureSecret }

    /// The default value written at first start. The signature secret has no fixed default: a
    /// random one is generated per installation.
    public var defaultValue: String {
        switch self {
        case .clusterTokenExpirationTime: "8760h0m0s"
        case .clientSessionSignatureSecret: ""
        case .clientSessionExpirationTime: "1m0s"
        case .clientConfigServiceValidityPeriod: "10m0s"
        }
    }

    /// The summary written at first start (the original's text).
    public var summary: String {
        switch self {
        case .clusterTokenExpirationTime: "cluster token expiration time (default=\"8760h0m0s\", format=duration)"
        case .clientSessionSignatureSecret: "client session signature secret (random per installation, format=base64)"
        case .clientSessionExpirationTime: "client session expiration time (default=\"1m0s\", format=duration)"
        case .clientConfigServiceValidityPeriod: "service validity period (default=\"10m0s\", format=duration)"
        }
    }

    /// Checks a new value; returns a reason when it is unacceptable.
    public func validate(_ value: String) -> String? {
        switch self {
        case .clientSessionSignatureSecret:
            guard let bytes = Base64.decode(value) else { return "not valid standard (padded) base64" }
            return bytes.count < 32 ? "the secret must decode to at least 32 bytes, got \(bytes.count)" : nil
        case .clusterTokenExpirationTime, .clientConfigServiceValidityPeriod:
            guard let d = GoDuration(parsing: value) else {
                return "invalid duration \"\(value)\" (examples: 8760h, 10m0s, 1h30m)"
            }
            return d.nanoseconds < 0 ? "the duration must not be negative" : nil
        case .clientSessionExpirationTime:
            guard let d = GoDuration(parsing: value) else { return "invalid duration \"\(value)\" (examples: 1m0s, 90s)" }
            return d.nanoseconds < 1_000_000_000 ? "the duration must be at least 1s" : nil
        }
    }
}

/// The parsed values of the global variables, as the server uses them.
public struct GlobalSettings: Sendable, Equatable {
    /// Lifetime of cluster tokens on create and refresh (`0` in the table means 365 days).
    public var clusterTokenExpiration: GoDuration
    /// HMAC key for agent session JWTs.
    public var sessionSignatureSecret: [UInt8]
    /// Session keep-alive window.
    public var sessionExpiration: GoDuration
    /// How long a service may wait for pickup before it expires (`0` in the table means 10 minutes).
    public var serviceValidityPeriod: GoDuration

    public init(
        clusterTokenExpiration: GoDuration = .seconds(8760 * 3600), sessionSignatureSecret: [UInt8] = [],
        sessionExpiration: GoDuration = .seconds(60), serviceValidityPeriod: GoDuration = .seconds(600)
    ) {
        self.clusterTokenExpiration = clusterTokenExpiration
        self.sessionSignatureSecret = sessionSignatureSecret
        self.sessionExpiration = sessionExpiration
        self.serviceValidityPeriod = serviceValidityPeriod
    }

    /// Builds settings from stored rows; unknown rows are ignored, invalid values keep the default
    /// and are reported in `problems`.
    public init(rows: [GlobalVariable], problems: inout [String]) {
        self.init()
        for row in rows {
            guard let known = KnownGlobalVariable(rawValue: row.uuid) else { continue }
            if let reason = known.validate(row.value) {
                problems.append("\(known.name): \(reason)")
                continue
            }
            switch known {
            case .clusterTokenExpirationTime:
                let d = GoDuration(parsing: row.value) ?? clusterTokenExpiration
                clusterTokenExpiration = d.nanoseconds == 0 ? .seconds(365 * 86400) : d
            case .clientSessionSignatureSecret:
                sessionSignatureSecret = Base64.decode(row.value) ?? []
            case .clientSessionExpirationTime:
                sessionExpiration = GoDuration(parsing: row.value) ?? sessionExpiration
            case .clientConfigServiceValidityPeriod:
                let d = GoDuration(parsing: row.value) ?? serviceValidityPeriod
                serviceValidityPeriod = d.nanoseconds == 0 ? .seconds(600) : d
            }
        }
    }
}
