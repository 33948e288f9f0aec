import Foundation
import Testing

/// The runtime options (`RuntimeOptions`): `run` and `train` declare them
/// once, and reject every bad value with the same `error:` line; `bench` and
/// `stress` read their `--threads` lists the same way as each other.
@Suite struct RuntimeOptionsTests {
    /// The commands that take one thread count and the plan options, each
    /// with arguments that would otherwise run quickly.
    static let commands: [[String]] = [
        ["run", RunCommandTests.example("lecture.json")],
        ["train", "logreg", "--samples", "64", "--features", "4"],
        ["train", "mlp", "--samples", "96", "--hidden", "4", "--batch", "32"],
    ]

    /// Bad values and the line each gives, in every command.
    @Test(arguments: [
        (["--threads", "0"], "error: --threads must be from 1 to 1024, got 0"),
        (["--threads", "1025"], "error: --threads must be from 1 to 1024, got 1025"),
        (["--threads=-3"], "error: --threads must be from 1 to 1024, got -3"),
        (["--grain", "0"], "error: --grain must be at least 1, got 0"),
        (["--grain=-5"], "error: --grain must be at least 1, got -5"),
        (["--inline-threshold=-1"], "error: --inline-threshold must not be negative, got -1"),
        (["--max-chunks", "0"], "error: --max-chunks must be at least 1, got 0"),
        // The first bad value is the one reported, in a fixed order.
        (
            ["--max-chunks", "0", "--threads", "0"],
            "error: --threads must be from 1 to 1024, got 0"
        ),
    ])
    func everyCommandRejectsABadValueAlike(options: [String], line: String) throws {
        for command in Self.commands {
            let r = try CLI.run(command + options)
            r.expectError()
            #expect(r.stderr == line + "\n", "\(command)")
        }
    }

    /// A value that is not a number is argument-parser's usage error, which
    /// names the command's help.
    @Test func aValueThatIsNotANumber() throws {
        for command in Self.commands {
            for option in ["--threads", "--grain", "--inline-threshold", "--max-chunks"] {
                let r = try CLI.run(command + [option, "two"])
                r.expectError()
                let name = option.dropFirst(2)
                #expect(
                    r.stderr
                        == "error: the value 'two' is invalid for '\(option) <\(name)>' "
                        + "(see 'backprop \(command[0]) --help')\n")
            }
        }
    }

    /// `bench` and `stress` take lists of thread counts, checked alike.
    @Test(arguments: ["0", "1025", "a,b", "1,,2", "2,0", ""])
    func listsOfThreadCountsAreRejectedAlike(list: String) throws {
        for command in [["bench", "S4", "--repetitions", "1"], ["stress", "--iterations", "1"]] {
            let r = try CLI.run(command + ["--threads", list])
            r.expectError()
            #expect(
                r.stderr
                    == "error: --threads: '\(list)' is not a list of thread counts from 1 to 1024\n",
                "\(command)")
        }
    }

    /// The same group, so the same help, in both commands.
    @Test func runAndTrainDescribeThemAlike() throws {
        func section(_ arguments: String...) throws -> String {
            let help = try CLI.run(arguments).stdout
            let start = try #require(help.range(of: "RUNTIME OPTIONS:"))
            let end = try #require(
                help.range(of: "OPTIONS:", range: start.upperBound..<help.endIndex))
            return String(help[start.lowerBound..<end.lowerBound])
        }
        let (run, train) = (try section("run", "--help"), try section("train", "--help"))
        #expect(run == train)
        for option in ["--threads", "--grain", "--inline-threshold", "--max-chunks"] {
            #expect(run.contains(option))
        }
    }

    /// Good values at the edges work, with the same results at any
    /// `--threads` (the plan options, not the thread count, decide the bits).
    @Test func goodValuesAtTheEdges() throws {
        let plan = ["--grain", "1", "--inline-threshold", "0", "--max-chunks", "1"]
        let run1 = try CLI.run(Self.commands[0] + plan + ["--threads", "1"])
        let run2 = try CLI.run(Self.commands[0] + plan + ["--threads", "3"])
        #expect(run1.status == 0 && run1.stdout == run2.stdout, "\(run1)\n\(run2)")
        func losses(_ threads: String) throws -> [Double] {
            let r = try CLI.run(Self.commands[2] + plan + ["--threads", threads, "--json"])
            #expect(r.status == 0, "\(r)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
            let epochs = try #require((object as? [String: Any])?["epochs"] as? [[String: Any]])
            return epochs.compactMap { $0["batchLoss"] as? Double }
        }
        let (one, two) = (try losses("1"), try losses("2"))
        #expect(one.count == 10 && one == two)
    }
}
