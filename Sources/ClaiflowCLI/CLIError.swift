import Foundation
import OpenAPIRuntime

/// An error the CLI shows as one plain message on standard error, then exits with `exitCode`.
public struct CLIError: Error, Sendable, CustomStringConvertible {
    /// The message, written for the operator (what failed and what to check).
    public var message: String
    /// The process's exit status.
    public var exitCode: Int32

    /// Creates an error with a message and an exit status.
    public init(_ message: String, exitCode: Int32 = CLIExitCode.failure) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// A usage error (a bad flag value, a missing argument): exit status 2.
    public static func usage(_ message: String) -> CLIError { CLIError(message, exitCode: CLIExitCode.usage) }

    /// The error to show when `error` came from talking to the server (a `CLIError`, or an
    /// error of the generated client); `nil` for any other error.
    public static func fromClient(_ error: any Error) -> CLIError? {
        error is CLIError || error is ClientError ? from(error) : nil
    }

    /// The error to show for any error thrown while talking to the server: a `CLIError` as it
    /// is (also when the generated client wrapped it), anything else with its description.
    public static func from(_ error: any Error) -> CLIError {
        if let error = error as? CLIError { return error }
        if let error = error as? ClientError {
            if let inner = error.underlyingError as? CLIError { return inner }
            return CLIError("\(error.operationID): \(error.underlyingError)")
        }
        return CLIError("\(error)")
    }
}

/// The exit statuses of the operator commands (docs/cli.md lists them).
public enum CLIExitCode {
    /// Done; with `--wait`, the service or run succeeded.
    public static let success: Int32 = 0
    /// The server refused the request, or (with `--wait`) the service or run failed, expired or
    /// was canceled.
    public static let failure: Int32 = 1
    /// A usage error: a bad flag, argument or file.
    public static let usage: Int32 = 2
    /// The server could not be reached.
    public static let unreachable: Int32 = 3
    /// The server refused the API key (401) or its role (403).
    public static let unauthorized: Int32 = 4
    /// Ctrl-C while waiting: detached, the service or run goes on.
    public static let detached: Int32 = 130
}
