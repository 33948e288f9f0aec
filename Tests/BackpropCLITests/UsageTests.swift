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
        for example in [
            "backprop grad '(x+y)*x*y^2' --at x=1,y=2",
            "backprop grad 'log(exp(2*x^3+10))' --at x=42",
            "gradient x: 10584.0",
        ] {
            #expect(grad.stdout.contains(example), "\(example)")
        }
        #expect(try CLI.run("help", "grad").stdout == grad.stdout)
    }

    @Test func version() throws {
        let r = try CLI.run("--version")
        #expect(r.status == 0)
        #expect(r.stdout == "0.1.0\n")
    }
}
