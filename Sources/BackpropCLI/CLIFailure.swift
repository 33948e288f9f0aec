import Foundation

/// The exit status of `backprop` (docs/cli.md, "Exit status").
enum ExitStatus: Int32, Sendable {
    /// Success.
    case success = 0
    /// A check failed (for example a stress run that found a mismatch).
    case checkFailed = 1
    /// Bad input or usage: an invalid expression, file, value or option.
    case badInput = 2
}

/// A failure that ends a command: one line on standard error that starts
/// with `error:`, and an exit status. Every subcommand reports its failures
/// by throwing one; ``BackpropCommand/main()`` prints it and exits.
///
/// ```swift
/// throw CLIFailure.badInput("--threads must be at least 1")
/// ```
struct CLIFailure: Error, Sendable, CustomStringConvertible {
    /// The exit status.
    let status: ExitStatus
    /// What went wrong, without the `error: ` prefix.
    let message: String

    /// A failure with a given status.
    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// Bad input or usage: exit status 2.
    static func badInput(_ message: String) -> CLIFailure { CLIFailure(.badInput, message) }

    /// A failed check: exit status 1.
    static func checkFailed(_ message: String) -> CLIFailure { CLIFailure(.checkFailed, message) }

    /// The line printed on standard error: `error: ` and the message, with
    /// any line breaks in it turned into `; `, so it is always one line.
    var description: String { "error: " + CLIFailure.oneLine(message) }

    /// Prints ``description`` on standard error and exits with ``status``.
    func exit() -> Never {
        StandardError.write(description + "\n")
        Foundation.exit(status.rawValue)
    }

    /// `text` on one line: lines trimmed, empty ones dropped, the rest
    /// joined with `; `.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

/// Writes to the process's standard error.
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
