import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Standard output and error, and whether they are a terminal.
public enum Terminal {
    /// Writes text to standard output as it is.
    public static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes a line to standard error.
    public static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Whether standard error, where progress goes, is a terminal (one live line) or not
    /// (plain lines).
    public static var isInteractive: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes progress text to standard error as it is.
    @Sendable public static func progress(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// On Ctrl-C (SIGINT), prints `message` to standard error and exits with
    /// ``CLIExitCode/detached`` instead of dying silently; nothing is sent to the server. Returns
    /// the signal source, which must be kept while waiting.
    public static func detachOnInterrupt(message: String) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if isInteractive { progress("\n") }
            error(message)
            exit(CLIExitCode.detached)
        }
        source.resume()
        return source
    }
}
