/// What an agent can run, judged from the library version it announces in its handshake
/// (`client_lib_version`). The original agent sends `0.1.0` (a constant of its library); the
/// claiflow agent sends its own library version (`AgentRuntime.libraryVersion`), which is
/// ``flowV2Minimum`` or later since it runs the flow language v2.
public struct AgentVersion: Sendable, Equatable, CustomStringConvertible {
    /// The first library version that runs flows using v2 constructs (`$if`, `$retry`,
    /// `$timeout`, `$parallel`, …) and honours a service's `timeout`.
    public static let flowV2Minimum = AgentVersion(major: 0, minor: 3, patch: 0)

    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `MAJOR.MINOR[.PATCH]`, with an optional leading `v` and anything after the numbers
    /// (`-rc1`, `+build`) ignored; nil for anything else (`dev`, empty).
    public init?(parsing text: String) {
        var rest = Substring(text)
        if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
        let core = rest.prefix { $0.isNumber || $0 == "." }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        var patch = 0
        if parts.count == 3 {
            guard let p = Int(parts[2]) else { return nil }
            patch = p
        }
        self.init(major: major, minor: minor, patch: patch)
    }

    /// Whether an agent announcing `clientLibVersion` runs v2 flows (an unknown or missing
    /// version is taken for an original agent).
    public static func runsFlowV2(clientLibVersion: String?) -> Bool {
        guard let text = clientLibVersion, let v = AgentVersion(parsing: text) else { return false }
        return (v.major, v.minor, v.patch) >= (flowV2Minimum.major, flowV2Minimum.minor, flowV2Minimum.patch)
    }

    /// `MAJOR.MINOR.PATCH`.
    public var description: String { "\(major).\(minor).\(patch)" }

    /// The status message of a v2 service waiting while only agents that cannot run it are connected.
    public static var flowV2WaitMessage: String {
        "waiting: its flow uses flow language v2, which needs a claiflow agent ≥ \(flowV2Minimum) "
            + "(client_lib_version); only an older or original agent is polling this cluster"
    }
}
