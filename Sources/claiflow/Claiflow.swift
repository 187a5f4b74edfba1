import ArgumentParser

/// `claiflow`: the control plane that runs templated tasks on many Kubernetes clusters.
@main
struct Claiflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claiflow",
        abstract: "Run standardized, templated tasks on many Kubernetes clusters.",
        version: ClaiflowVersion.current,
        subcommands: [ServerCommand.self, AgentGroupCommand.self, AdminCommand.self]
    )
}

/// The version of this build.
enum ClaiflowVersion {
    static let current = "0.2.0-dev"
}
