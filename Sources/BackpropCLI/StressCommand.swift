import ArgumentParser
import Backprop
import BackpropStress
import Foundation

/// `backprop stress`: generates random graphs from a seed and checks the
/// runtime on each — bitwise identical results at every thread count and
/// on repeated runs, agreement with the reference executor, finite
/// differences — and reports throughput and latency.
struct StressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract: "Check the runtime on random graphs; report throughput, latency and checks.",
        discussion: """
            Every graph is compiled once and run forward and backward at each --threads count, \
            --repeats times each; all results must be bitwise identical, agree with the \
            reference executor, and the reference gradient must agree with central differences \
            (in float64) at --gradient-checks random elements. The first failure writes the \
            graph (a v1 graph file) and its seed into --repro-dir, prints how to replay it, and \
            exits with status 1.

            With no arguments: mixed scalar and tensor graphs, float32 and float64, for 30 \
            seconds at 1, 2 and 4 threads.

            Examples:
              backprop stress
              backprop stress --duration 2m --threads 1,2,8 --kind tensor --dtype float32
              backprop stress --iterations 1000 --seed 7 --nodes 400 --json
              backprop stress --soak --duration 1h --max-rss-growth 128MiB
            """)

    @Option(
        help: ArgumentHelp("How long to run: 30s, 2m, 1h, 500ms (default 30s).", valueName: "time"))
    var duration: String?

    @Option(help: "Check this many graphs instead of running for a duration.")
    var iterations: Int?

    @Option(help: "The seed of the run: the same seed checks the same graphs.")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("graph-seed"),
        help: ArgumentHelp(
            "Check only the graph with this seed (repeatable), as a repro's seed file names it.",
            valueName: "seed"))
    var graphSeeds: [UInt64] = []

    @Option(
        help: ArgumentHelp(
            "Thread counts to run every graph at, 1 to 1024 each.", valueName: "list"))
    var threads = "1,2,4"

    @Option(help: "Graph kind: scalar, tensor or mixed.")
    var kind = "mixed"

    @Option(help: "Element type: float32, float64 or mixed.")
    var dtype = "mixed"

    @Option(help: "The most computing nodes per graph.")
    var nodes = StressGraphSettings().nodes

    @Option(help: "The most nodes per level.")
    var width = StressGraphSettings().width

    @Option(help: "The most levels.")
    var depth = StressGraphSettings().depth

    @Option(help: "The most parents of a sum node.")
    var fanIn = StressGraphSettings().fanIn

    @Option(
        help: ArgumentHelp(
            "Op families of tensor graphs: "
                + StressOpFamily.allCases.map(\.rawValue).joined(separator: ","),
            valueName: "list"))
    var ops = StressOpFamily.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "The largest extent of a tensor axis.")
    var maxExtent = StressGraphSettings().maxExtent

    @Option(help: "Runs per thread count.")
    var repeats = 2

    @Option(help: "Finite-difference spot checks per graph.")
    var gradientChecks = 3

    @Flag(help: "Soak mode: fail when resident memory grows beyond --max-rss-growth.")
    var soak = false

    @Option(help: ArgumentHelp("The soak bound: 256MiB, 1GiB, 500MB.", valueName: "size"))
    var maxRSSGrowth = "256MiB"

    @Option(help: "Where a failing graph and its seed are written.")
    var reproDir = "backprop-repro"

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    /// A deliberate bug (tests only): one partial added twice at more than one thread.
    @Flag(help: .hidden)
    var injectFault = false

    func run() throws(CLIFailure) {
        let options = try makeOptions()
        let runtimes = try options.threadCounts.map { (n) throws(CLIFailure) in
            try configuredRuntime(threads: n)
        }
        let live = isatty(STDERR_FILENO) != 0
        var lastLine = 0.0
        let (report, failedGraph) = StressRunner(options: options).run(runtimes: runtimes) {
            progress in
            let line = String(
                format: "%.1f s: %d graphs, %d runs, %d checks passed, %.1f MiB resident",
                progress.elapsedSeconds, progress.graphs, progress.runs, progress.checksPassed,
                Double(progress.residentBytes) / 1_048_576)
            if live {
                StandardError.write("\r\u{1B}[2K" + line)
            } else if progress.elapsedSeconds - lastLine >= 5 {
                lastLine = progress.elapsedSeconds
                StandardError.write("progress: " + line + "\n")
            }
        }
        if live { StandardError.write("\r\u{1B}[2K") }
        var final = report
        var replay: [String] = []
        if let failure = report.failure, let failedGraph {
            let written = try writeRepro(failedGraph, failure: failure, options: options)
            final.failure?.repro = written
            let fault = injectFault ? " --inject-fault" : ""
            let plan =
                " --grain \(failure.grain) --inline-threshold \(failure.inlineThreshold)"
                + " --max-chunks \(failure.maxChunksPerNode)"
            // The options as parsed, not as typed ('1, 2' is one shell word only quoted).
            let threadList = options.threadCounts.map(String.init).joined(separator: ",")
            let opsList = StressOpFamily.allCases.filter(options.settings.ops.contains)
                .map(\.rawValue).joined(separator: ",")
            let path = Self.shellWord(written)
            replay = [
                "repro: \(written)",
                "replay: "
                    + options.threadCounts.map {
                        "backprop run \(path) --threads \($0)\(plan)\(fault)"
                    }.joined(separator: "; "),
                "regenerate: backprop stress --graph-seed \(failure.graphSeed) --threads \(threadList)"
                    + " --kind \(kind) --dtype \(dtype) --nodes \(nodes) --width \(width) --depth \(depth)"
                    + " --fan-in \(fanIn) --ops \(opsList) --max-extent \(maxExtent)"
                    + " --repeats \(repeats) --gradient-checks \(gradientChecks)\(fault)",
            ]
        }
        print(json ? final.json : final.table)
        if let failure = final.failure {
            for line in replay { StandardError.write(line + "\n") }
            throw .checkFailed(
                "\(failure.check) check failed (graph seed \(failure.graphSeed)): \(failure.message)"
            )
        }
    }

    /// The options, validated: every bad value is exit status 2.
    func makeOptions() throws(CLIFailure) -> StressOptions {
        var options = StressOptions()
        options.seed = seed
        options.graphSeeds = graphSeeds.isEmpty ? nil : graphSeeds
        switch (duration, iterations) {
        case (.some, .some): throw .badInput("give --duration or --iterations, not both")
        case (let text?, nil): options.limit = .duration(try Self.seconds(text))
        case (nil, let n?):
            guard n >= 1 else { throw .badInput("--iterations must be at least 1") }
            options.limit = .iterations(n)
        case (nil, nil):
            options.limit = graphSeeds.isEmpty ? .duration(30) : .iterations(graphSeeds.count)
        }
        options.threadCounts = try RuntimeOptions.threadCounts(threads)
        guard let kind = StressGraphSettings.Kind(rawValue: kind) else {
            throw .badInput("--kind: '\(kind)' is not scalar, tensor or mixed")
        }
        guard let dtype = StressGraphSettings.DTypeChoice(rawValue: dtype) else {
            throw .badInput("--dtype: '\(dtype)' is not float32, float64 or mixed")
        }
        options.settings.kind = kind
        options.settings.dtype = dtype
        for (name, value, range) in [
            ("--nodes", nodes, 1...1_000_000), ("--width", width, 1...100_000),
            ("--depth", depth, 1...100_000), ("--fan-in", fanIn, 1...64),
            ("--max-extent", maxExtent, 1...256), ("--repeats", repeats, 1...1000),
            ("--gradient-checks", gradientChecks, 0...1000),
        ] where !range.contains(value) {
            throw .badInput(
                "\(name) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        options.settings.nodes = nodes
        options.settings.width = width
        options.settings.depth = depth
        options.settings.fanIn = fanIn
        options.settings.maxExtent = maxExtent
        options.repeats = repeats
        options.gradientChecks = gradientChecks
        var families = Set<StressOpFamily>()
        for name in ops.split(separator: ",") {
            guard let family = StressOpFamily(rawValue: name.trimmingCharacters(in: .whitespaces))
            else {
                throw .badInput(
                    "--ops: unknown op family '\(name)' (families: "
                        + StressOpFamily.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            families.insert(family)
        }
        guard !families.isEmpty else { throw .badInput("--ops: no op family given") }
        options.settings.ops = families
        options.soak = soak
        options.maxRSSGrowth = try Self.bytes(maxRSSGrowth)
        options.injectFault = injectFault
        return options
    }

    /// Writes the failing graph and its seed; returns the graph file's path.
    func writeRepro(_ graph: AnyGraph, failure: StressReport.Failure, options: StressOptions)
        throws(CLIFailure) -> String
    {
        let text: String
        do { text = try GraphFile.write(graph) } catch {
            throw .checkFailed(
                "\(failure.check) check failed, and the graph cannot be written: \(error)")
        }
        let directory = URL(fileURLWithPath: reproDir)
        let stem = "stress-\(failure.graphSeed)"
        let graphPath = directory.appendingPathComponent(stem + ".json").path
        let seedPath = directory.appendingPathComponent(stem + ".seed").path
        let seedText = """
            seed \(options.seed)
            graph-seed \(failure.graphSeed)
            check \(failure.check)
            message \(failure.message)

            """
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: graphPath))
            try Data(seedText.utf8).write(to: URL(fileURLWithPath: seedPath))
        } catch {
            throw .checkFailed(
                "\(failure.check) check failed, and the repro cannot be written to '\(reproDir)': \(error.localizedDescription)"
            )
        }
        return graphPath
    }

    /// `text` as one shell word: as it is when it holds only characters
    /// that need no quoting, else in single quotes.
    static func shellWord(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || $0.properties.numericType != nil
                        || "/._-+,:=@%".unicodeScalars.contains($0))
            }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// `30s`, `2m`, `1h`, `500ms`, or a bare number of seconds.
    static func seconds(_ text: String) throws(CLIFailure) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value.isFinite, value > 0 {
                return value * scale
            }
        }
        if let value = Double(text), value.isFinite, value > 0 { return value }
        throw .badInput(
            "--duration: '\(text)' is not a positive duration such as 30s, 2m, 1h or 500ms")
    }

    /// `256MiB`, `1GiB`, `500MB`, `64K`, or a bare number of bytes.
    static func bytes(_ text: String) throws(CLIFailure) -> Int {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("KB", 1e3), ("MB", 1e6),
            ("GB", 1e9),
            ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824), ("B", 1), ("", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value.isFinite, value > 0,
                value * scale < 1e18
            {
                return Int(value * scale)
            }
        }
        throw .badInput("--max-rss-growth: '\(text)' is not a size such as 256MiB, 1GiB or 500MB")
    }
}
