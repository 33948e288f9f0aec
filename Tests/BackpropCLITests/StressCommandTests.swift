import Foundation
import Testing

/// `backprop stress`, as a process: a short passing run (table and JSON),
/// the deliberate fault and everything its failure prints (repro files,
/// replay and regenerate commands, run again through the executable), bad
/// options, and a short soak.
@Suite struct StressCommandTests {
    /// Standard error of a run that passed: at most progress lines.
    func expectOnlyProgress(_ r: CLI.Result, _ sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            r.stderrLines.allSatisfy { $0.hasPrefix("progress: ") }, "\(r)",
            sourceLocation: sourceLocation)
    }

    @Test func shortRunPrintsTheTable() throws {
        let r = try CLI.run("stress", "--iterations", "10", "--threads", "1,2", "--nodes", "30")
        #expect(r.status == 0, "\(r)")
        expectOnlyProgress(r)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(
            String.init)
        #expect(lines.count == 12, "\(r)")
        guard lines.count == 12 else { return }
        #expect(lines[0].hasPrefix("10 graphs, ") && lines[0].hasSuffix(" s (seed 1)"))
        #expect(lines[0].contains(", 40 runs in "))
        #expect(lines[1].hasPrefix("throughput: ") && lines[1].hasSuffix(" GB/s"))
        #expect(lines[3] == "threads   runs    p50 µs    p90 µs    p99 µs    max µs")
        #expect(lines[4].hasPrefix("     1      20 "))
        #expect(lines[5].hasPrefix("     2      20 "))
        #expect(
            lines[7].hasPrefix("checks passed: determinism 10, reference 10, finite-difference "))
        #expect(lines[8].hasPrefix("resident memory: "))
        #expect(lines[9].hasPrefix("results digest: ") && lines[9].count == 16 + 16 + 40)
        #expect(lines[10] == "all checks passed")
        #expect(lines[11] == "")
    }

    @Test func jsonReport() throws {
        let r = try CLI.run(
            "stress", "--iterations", "10", "--threads", "1,2", "--nodes", "30", "--json")
        #expect(r.status == 0, "\(r)")
        expectOnlyProgress(r)
        #expect(r.stdout.split(separator: "\n").count == 1)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["graphs"] as? Int == 10)
        #expect(report["runs"] as? Int == 40)
        #expect(report["seed"] as? Int == 1)
        #expect(report["thread_counts"] as? [Int] == [1, 2])
        #expect(report["soak"] as? Bool == false)
        #expect(report["failure"] == nil)
        let checks = try #require(report["checks_passed"] as? [String: Int])
        #expect(checks["determinism"] == 10)
        #expect(checks["reference"] == 10)
        let finiteDifferences = checks["finite-difference"] ?? 0
        let skipped = try #require(report["skipped_finite_differences"] as? Int)
        #expect(finiteDifferences > 0 && finiteDifferences + skipped <= 30)
        let latency = try #require(report["latency"] as? [[String: Any]])
        #expect(latency.map { $0["threads"] as? Int } == [1, 2])
        for entry in latency {
            #expect(entry["runs"] as? Int == 20)
            let p50 = try #require(entry["p50_microseconds"] as? Double)
            let max = try #require(entry["max_microseconds"] as? Double)
            #expect(p50 > 0 && p50 <= max)
        }
        for key in [
            "nodes", "resident_bytes_baseline", "resident_bytes_peak", "resident_bytes_end",
        ] {
            #expect((report[key] as? Int ?? 0) > 0, "\(key)")
        }

        // The same seed checks the same graphs.
        let again = try CLI.run(
            "stress", "--iterations", "10", "--threads", "1,2", "--nodes", "30", "--json")
        let second = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8))
        #expect((second as? [String: Any])?["nodes"] as? Int == report["nodes"] as? Int)
    }

    /// The deliberate fault (one partial added twice at more than one
    /// thread) must be caught, and what the failure prints must reproduce
    /// it: the repro file under `run`, and the graph seed under `stress`.
    @Test func injectedFaultIsCaughtAndReplays() throws {
        try CLI.withTemporaryDirectory { directory in
            let reproDirectory = directory.appendingPathComponent("repro").path
            let r = try CLI.run(
                "stress", "--inject-fault", "--iterations", "300", "--threads", "1,2",
                "--repro-dir", reproDirectory)
            #expect(r.status == 1, "\(r)")
            #expect(!r.crashed)
            let lines = r.stderrLines.map(String.init)
            let last = try #require(lines.last)
            #expect(last.hasPrefix("error: determinism check failed (graph seed "), "\(r)")
            #expect(lines.filter { $0.hasPrefix("error:") }.count == 1)
            #expect(r.stdout.contains("\nFAILED: determinism check (graph seed "), "\(r)")

            // The repro files.
            let seed = try #require(
                last.split(separator: " ").dropFirst(6).first.map { String($0.dropLast(2)) })
            #expect(UInt64(seed) != nil, "\(last)")
            let files = try FileManager.default.contentsOfDirectory(atPath: reproDirectory)
            #expect(Set(files) == ["stress-\(seed).json", "stress-\(seed).seed"])
            let repro = reproDirectory + "/stress-\(seed).json"
            let seedFile = try String(
                contentsOfFile: reproDirectory + "/stress-\(seed).seed", encoding: .utf8)
            #expect(seedFile.hasPrefix("seed 1\ngraph-seed \(seed)\ncheck determinism\nmessage "))
            #expect(lines.contains("repro: \(repro)"))

            // replay: `backprop run REPRO --threads N <plan> --inject-fault`, per thread count.
            let replay = try #require(lines.first { $0.hasPrefix("replay: ") })
            let commands = replay.dropFirst("replay: ".count).split(separator: "; ").map {
                $0.split(separator: " ").map(String.init)
            }
            #expect(commands.count == 2)
            for (command, threads) in zip(commands, ["1", "2"]) {
                #expect(
                    Array(command.prefix(5)) == ["backprop", "run", repro, "--threads", threads])
                #expect(command.last == "--inject-fault")
                #expect(command.contains("--grain") && command.contains("--max-chunks"))
            }
            func run(_ command: [String], fault: Bool) throws -> String {
                let arguments = Array(command.dropFirst().filter { $0 != "--inject-fault" })
                let result = try CLI.run(arguments + ["--json"] + (fault ? ["--inject-fault"] : []))
                #expect(result.status == 0, "\(result)")
                return result.stdout
            }
            let one = try run(commands[0], fault: false)
            #expect(try run(commands[1], fault: false) == one)
            #expect(try run(commands[0], fault: true) == one)
            #expect(try run(commands[1], fault: true) != one)

            // regenerate: `backprop stress --graph-seed SEED …` fails again,
            // and passes without the fault.
            let regenerate = try #require(lines.first { $0.hasPrefix("regenerate: ") })
            let command = regenerate.dropFirst("regenerate: ".count).split(separator: " ").map(
                String.init)
            #expect(Array(command.prefix(4)) == ["backprop", "stress", "--graph-seed", seed])
            #expect(command.last == "--inject-fault")
            let again = directory.appendingPathComponent("again").path
            let failing = try CLI.run(
                Array(command.dropFirst()) + ["--repro-dir", again, "--json"])
            #expect(failing.status == 1, "\(failing)")
            #expect(
                failing.stderrLines.last?.hasPrefix(
                    "error: determinism check failed (graph seed \(seed))") == true)
            let report = try JSONSerialization.jsonObject(with: Data(failing.stdout.utf8))
            let failure = try #require((report as? [String: Any])?["failure"] as? [String: Any])
            #expect(failure["check"] as? String == "determinism")
            #expect(failure["repro"] as? String == again + "/stress-\(seed).json")
            #expect(failing.stdout.contains(#""graph_seed":\#(seed),"#))
            #expect((report as? [String: Any])?["graphs"] as? Int == 1)

            let passing = try CLI.run(
                Array(command.dropFirst().dropLast()) + ["--repro-dir", again])
            #expect(passing.status == 0, "\(passing)")
            #expect(passing.stdout.hasPrefix("1 graphs, "))
            #expect(passing.stdout.hasSuffix("\nall checks passed\n"))
        }
    }

    /// The printed commands work when pasted into a shell: a path with a
    /// space is quoted, and lists are written as parsed, without spaces.
    @Test func printedCommandsAreShellWords() throws {
        try CLI.withTemporaryDirectory { directory in
            let reproDirectory = directory.appendingPathComponent("a b").path
            let r = try CLI.run(
                "stress", "--inject-fault", "--iterations", "300", "--threads", "1, 2",
                "--ops", "softmax, elementwise,matmul, loss,movement,reduce", "--repro-dir",
                reproDirectory)
            #expect(r.status == 1, "\(r)")
            let lines = r.stderrLines.map(String.init)
            let replay = try #require(lines.first { $0.hasPrefix("replay: ") })
            #expect(replay.hasPrefix("replay: backprop run '\(reproDirectory)/stress-"), "\(r)")
            let regenerate = try #require(lines.first { $0.hasPrefix("regenerate: ") })
            #expect(regenerate.contains(" --threads 1,2 "), "\(r)")
            #expect(
                regenerate.contains(" --ops elementwise,matmul,reduce,movement,softmax,loss "),
                "\(r)")
            let command = regenerate.split(separator: " ").dropFirst(2).map(String.init)
            let again = try CLI.run(command + ["--repro-dir", directory.path])
            #expect(again.status == 1, "\(again)")
        }
    }

    /// Bad options: status 2 and one `error:` line, before any graph runs.
    @Test(arguments: [
        (
            ["--threads", "0"],
            "error: --threads: '0' is not a list of thread counts from 1 to 1024"
        ),
        (
            ["--threads", "a,b"],
            "error: --threads: 'a,b' is not a list of thread counts from 1 to 1024"
        ),
        (
            ["--threads", "1,,2"],
            "error: --threads: '1,,2' is not a list of thread counts from 1 to 1024"
        ),
        (
            ["--duration", "5x"],
            "error: --duration: '5x' is not a positive duration such as 30s, 2m, 1h or 500ms"
        ),
        (
            ["--duration", "0s"],
            "error: --duration: '0s' is not a positive duration such as 30s, 2m, 1h or 500ms"
        ),
        (
            ["--duration", "1s", "--iterations", "3"],
            "error: give --duration or --iterations, not both"
        ),
        (["--iterations", "0"], "error: --iterations must be at least 1"),
        (["--kind", "cube"], "error: --kind: 'cube' is not scalar, tensor or mixed"),
        (["--dtype", "float16"], "error: --dtype: 'float16' is not float32, float64 or mixed"),
        (
            ["--ops", "nonsense"],
            "error: --ops: unknown op family 'nonsense' (families: elementwise, matmul, reduce, movement, softmax, loss)"
        ),
        (["--ops", ","], "error: --ops: no op family given"),
        (["--nodes", "0"], "error: --nodes must be from 1 to 1000000, got 0"),
        (
            ["--max-rss-growth", "lots"],
            "error: --max-rss-growth: 'lots' is not a size such as 256MiB, 1GiB or 500MB"
        ),
        (
            ["--seed", "-1"],
            "error: missing value for '--seed <seed>' (see 'backprop stress --help')"
        ),
        (
            ["--seed", "x"],
            "error: the value 'x' is invalid for '--seed <seed>' (see 'backprop stress --help')"
        ),
    ])
    func badOptions(options: [String], line: String) throws {
        let r = try CLI.run(["stress"] + options)
        r.expectError()
        #expect(r.stderr == line + "\n")
    }

    @Test func shortSoak() throws {
        let r = try CLI.run(
            "stress", "--soak", "--iterations", "30", "--max-rss-growth", "1GiB", "--json")
        #expect(r.status == 0, "\(r)")
        expectOnlyProgress(r)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["soak"] as? Bool == true)
        #expect(report["graphs"] as? Int == 30)
        #expect(report["failure"] == nil)
        let baseline = try #require(report["resident_bytes_baseline"] as? Int)
        let peak = try #require(report["resident_bytes_peak"] as? Int)
        let end = try #require(report["resident_bytes_end"] as? Int)
        #expect(baseline > 0 && end > 0)
        #expect(peak >= baseline && peak >= end)
    }
}
