import Foundation
import Testing

/// The root command: help, version, and argument-parser's usage errors,
/// which exit 2 with one `error:` line.
@Suite struct UsageTests {
    /// Status 2, empty standard output, exactly one line on standard error
    /// starting with `error:`.
    func expectUsageError(_ r: CLI.Result, _ sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 2, "\(r)", sourceLocation: sourceLocation)
        #expect(!r.crashed, sourceLocation: sourceLocation)
        #expect(r.stdout == "", sourceLocation: sourceLocation)
        #expect(r.stderrLines.count == 1, "\(r)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), sourceLocation: sourceLocation)
    }

    @Test func unknownSubcommand() throws {
        let r = try CLI.run("frobnicate")
        expectUsageError(r)
        #expect(r.stderr == "error: unexpected argument 'frobnicate' (see 'backprop --help')\n")
    }

    @Test func unknownFlags() throws {
        let grad = try CLI.run("grad", "x", "--at", "x=1", "--jsn")
        expectUsageError(grad)
        #expect(grad.stderr == "error: unknown option '--jsn' (see 'backprop grad --help')\n")
        let info = try CLI.run("info", "--bogus")
        expectUsageError(info)
        #expect(info.stderr.hasPrefix("error: unknown option '--bogus'"))
        expectUsageError(try CLI.run("--bogus"))
    }

    @Test func missingArgumentsAndValues() throws {
        let none = try CLI.run("grad")
        expectUsageError(none)
        #expect(none.stderr.hasPrefix("error: missing expected argument '<expression>'"))
        expectUsageError(try CLI.run("grad", "x", "--at"))
        let two = try CLI.run("grad", "x", "y")
        expectUsageError(two)
        #expect(two.stderr.hasPrefix("error: expected one expression, got 2 arguments"))
    }

    @Test func helpListsTheSubcommandsAndTheLectureExamples() throws {
        let root = try CLI.run("--help")
        #expect(root.status == 0)
        #expect(root.stderr == "")
        #expect(root.stdout.contains("grad") && root.stdout.contains("info"))
        #expect(root.stdout.contains("Exit status: 0 success, 1 a failed check, 2 bad input"))
        let grad = try CLI.run("grad", "--help")
        #expect(grad.status == 0)
        // Every lecture example is in the help, with the value it prints
        // (GradCommandTests checks the values).
        #expect(grad.stdout.contains("backprop grad '(x+y)*x*y^2' --at x=1,y=2\n"))
        #expect(grad.stdout.contains("output: 12.0, gradient x: 16.0, gradient y: 16.0\n"))
        #expect(grad.stdout.contains("backprop grad 7 "))
        let lines = grad.stdout.split(separator: "\n")
        for (expression, gradient) in [
            ("2*x", "2.0"), ("2*x+999999", "2.0"), ("x^3", "5292.0"),
            ("exp(x)", "1.739274941520501e+18"), ("exp(2*x^3+10)", "inf"),
            ("log(exp(2*x^3+10))", "10584.0"),
        ] {
            // The value follows on the same line or the next.
            let k = lines.firstIndex { $0.contains("backprop grad '\(expression)' --at x=42") }
            #expect(k != nil, "\(expression)")
            guard let k else { continue }
            let shown = lines[k...].prefix(2).joined(separator: " ")
            #expect(shown.contains("gradient x: \(gradient)"), "\(expression)")
        }
        #expect(try CLI.run("help", "grad").stdout == grad.stdout)
    }

    @Test func version() throws {
        let r = try CLI.run("--version")
        #expect(r.status == 0)
        #expect(r.stdout == "0.1.0\n")
    }
}
