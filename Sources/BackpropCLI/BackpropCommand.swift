import ArgumentParser
import Backprop
import Foundation

/// `backprop`: the root command. Its subcommands each live in their own
/// file (`GradCommand.swift`, `InfoCommand.swift`, …).
@main
struct BackpropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backprop",
        abstract: "Reverse-mode automatic differentiation: values and gradients of expressions.",
        discussion: """
            Exit status: 0 success, 1 a failed check, 2 bad input or usage. Errors are \
            printed on standard error as one line starting with 'error:'.
            """,
        version: backpropVersion,
        subcommands: [
            RunCommand.self, GradCommand.self, StressCommand.self, TrainCommand.self,
            BenchCommand.self, InfoCommand.self,
        ])

    /// Parses the command line, runs the subcommand and exits with the
    /// status of docs/cli.md: argument-parser's usage errors exit 2 (not
    /// its default 64) and, like every other error, print one `error:` line.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(afterParserError: error, arguments: arguments)
        }
        do {
            try command.run()
        } catch let failure as CLIFailure {
            failure.exit()
        } catch {
            // Help requests arrive here too, from argument-parser's help command.
            exit(afterParserError: error, arguments: arguments)
        }
        Foundation.exit(ExitStatus.success.rawValue)
    }

    /// Handles an error that is not a ``CLIFailure``: help and `--version`
    /// go to standard output with status 0; a usage error prints one line
    /// that points to the help, and anything else its message, with
    /// status 2.
    private static func exit(afterParserError error: any Error, arguments: [String]) -> Never {
        if let code = error as? ExitCode, code != .success {
            Foundation.exit(code.rawValue)
        }
        if exitCode(for: error) == .success {
            let text = fullMessage(for: error)
            if !text.isEmpty { print(text) }
            Foundation.exit(ExitStatus.success.rawValue)
        }
        var text = CLIFailure.oneLine(message(for: error))
        guard exitCode(for: error) == .validationFailure else { CLIFailure.badInput(text).exit() }
        if let first = text.first, first.isUppercase {
            text = first.lowercased() + text.dropFirst()
        }
        let subcommand = configuration.subcommands
            .map { $0._commandName }
            .first { $0 == arguments.first }
        let help = ["backprop", subcommand, "--help"].compactMap { $0 }.joined(separator: " ")
        CLIFailure.badInput("\(text) (see '\(help)')").exit()
    }
}
