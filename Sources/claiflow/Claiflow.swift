import ArgumentParser
import ClaiflowCLI
import Foundation

/// `claiflow`: the control plane that runs templated tasks on many Kubernetes clusters.
@main
struct Claiflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claiflow",
        abstract: "Run standardized, templated tasks on many Kubernetes clusters.",
        discussion: """
            Operator commands talk to a server: `claiflow login --server URL --api-key KEY` first.
            Shell completions: claiflow --generate-completion-script bash|zsh|fish
            """,
        version: ClaiflowVersion.current,
        subcommands: [
            ServerCommand.self, AgentGroupCommand.self, AdminCommand.self,
            LoginCommand.self, ContextCommand.self, ClusterCommand.self, TokenCommand.self, TemplateCommand.self,
            ServiceCommand.self, RunCommand.self, ScheduleCommand.self, WebhookCommand.self, APIKeyCommand.self,
            GlobalVarCommand.self,
        ]
    )

    /// Runs the command; an operator command's error is one plain line with its exit status
    /// (docs/cli.md), and a usage error exits with 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if let cli = CLIError.fromClient(error) {
                Terminal.error("error: \(cli.message)")
                Foundation.exit(cli.exitCode)
            }
            if exitCode(for: error) == .validationFailure {
                Terminal.error(fullMessage(for: error))
                Foundation.exit(CLIExitCode.usage)
            }
            exit(withError: error)
        }
    }
}

/// The version of this build.
enum ClaiflowVersion {
    static let current = "0.2.0-dev"
}
