import Backprop
import Dispatch
import Foundation

/// What `backprop stress` does: which graphs, how long, which checks.
public struct StressOptions: Sendable {
    /// When to stop.
    public enum Limit: Sendable, Equatable {
        /// After this many seconds (the graph in progress finishes).
        case duration(Double)
        /// After this many graphs.
        case iterations(Int)
    }

    /// The shape of the random graphs.
    public var settings = StressGraphSettings()
    /// The run's seed: graph `i` is generated from ``graphSeed(_:)``.
    public var seed: UInt64 = 1
    /// Explicit graph seeds to check instead (one graph each, in order).
    public var graphSeeds: [UInt64]? = nil
    /// The thread counts every graph runs at (compared bitwise).
    public var threadCounts = [1, 2, 4]
    public var limit = Limit.duration(30)
    /// Runs per thread count (compared bitwise too).
    public var repeats = 2
    /// Finite-difference spot checks per graph.
    public var gradientChecks = 3
    /// Soak mode: fail when resident memory grows beyond ``maxRSSGrowth``
    /// over its level after the warm-up.
    public var soak = false
    /// The bound on resident-memory growth in soak mode, in bytes.
    public var maxRSSGrowth = 256 << 20
    /// A deliberate bug (tests only): one partial added twice at more than one thread.
    public var injectFault = false

    /// Default options: mixed graphs for 30 s at 1, 2 and 4 threads.
    public init() {}

    /// The seed of graph `index` of a run seeded with `seed`.
    public func graphSeed(_ index: Int) -> UInt64 {
        if let graphSeeds { return graphSeeds[index] }
        var rng = StressRandom(seed: seed &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        return rng.next()
    }
}

/// Where a stress run is, after each graph.
public struct StressProgress: Sendable {
    public var graphs = 0
    public var runs = 0
    public var checksPassed = 0
    public var elapsedSeconds = 0.0
    /// Resident memory now, in bytes (0 where unknown).
    public var residentBytes = 0
}

/// The result of a stress run: throughput, latency, checks, memory, and
/// the failure if there was one. Encodes to the `--json` report.
public struct StressReport: Sendable, Codable {
    /// Latency percentiles of single runs (forward + backward) at one thread count.
    public struct Latency: Sendable, Codable {
        public var threads: Int
        public var runs: Int
        public var p50Microseconds: Double
        public var p90Microseconds: Double
        public var p99Microseconds: Double
        public var maxMicroseconds: Double
    }
    /// The failed check.
    public struct Failure: Sendable, Codable {
        public var check: String
        public var message: String
        public var graphSeed: UInt64
        /// The plan options the graph was compiled with (for the replay).
        public var grain: Int
        public var inlineThreshold: Int
        public var maxChunksPerNode: Int
        /// The repro file, when one was written.
        public var repro: String?
    }

    public var seed: UInt64
    public var threadCounts: [Int]
    public var graphs = 0
    /// Nodes of all graphs checked.
    public var nodes = 0
    /// Forward + backward runs.
    public var runs = 0
    public var elapsedSeconds = 0.0
    /// Time inside runs only.
    public var runSeconds = 0.0
    public var graphsPerSecond = 0.0
    /// Nodes processed per second of run time.
    public var nodesPerSecond = 0.0
    /// Bytes of values and gradients written per second of run time, in GB/s.
    public var gigabytesPerSecond = 0.0
    /// Checks passed, by check name.
    public var checksPassed: [String: Int] = [:]
    /// Finite-difference points skipped as non-differentiable (kinks).
    public var skippedFiniteDifferences = 0
    public var latency: [Latency] = []
    /// Resident memory after the warm-up, at its peak, and at the end, in bytes.
    public var residentBytesBaseline = 0
    public var residentBytesPeak = 0
    public var residentBytesEnd = 0
    public var soak = false
    public var failure: Failure?
    /// The bits of every checked graph's output and gradients, hashed in
    /// graph order (``ResultDigest``): equal for two builds exactly when
    /// they compute the same bits for this seed and graph count.
    public var digest = ResultDigest().hex

    /// Whether every check passed.
    public var passed: Bool { failure == nil }

    /// The machine report: one JSON object, keys sorted.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The human report: a summary, a latency table and the checks.
    public var table: String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        var lines: [String] = []
        lines.append(
            "\(graphs) graphs, \(nodes) nodes, \(runs) runs in \(f(elapsedSeconds)) s (seed \(seed))"
        )
        lines.append(
            "throughput: \(f(graphsPerSecond)) graphs/s, \(f(nodesPerSecond / 1e6, 2)) M nodes/s, "
                + "\(f(gigabytesPerSecond, 2)) GB/s")
        lines.append("")
        lines.append("threads   runs    p50 µs    p90 µs    p99 µs    max µs")
        for l in latency {
            lines.append(
                [
                    String(l.threads).padding(6), String(l.runs).padding(7),
                    f(l.p50Microseconds).padding(9),
                    f(l.p90Microseconds).padding(9), f(l.p99Microseconds).padding(9),
                    f(l.maxMicroseconds).padding(9),
                ].joined(separator: " "))
        }
        lines.append("")
        let names = ["determinism", "reference", "finite-difference"]
        let checks = names.map { "\($0) \(checksPassed[$0] ?? 0)" }.joined(separator: ", ")
        lines.append(
            "checks passed: \(checks)"
                + (skippedFiniteDifferences > 0
                    ? " (\(skippedFiniteDifferences) finite-difference points skipped at kinks)"
                    : ""))
        let mib = { (bytes: Int) in f(Double(bytes) / 1_048_576) }
        lines.append(
            "resident memory: \(mib(residentBytesBaseline)) MiB after warm-up, peak \(mib(residentBytesPeak)) MiB, end \(mib(residentBytesEnd)) MiB"
                + (soak ? " (soak)" : ""))
        lines.append("results digest: \(digest) (the bits of every output and gradient)")
        if let failure {
            lines.append(
                "FAILED: \(failure.check) check (graph seed \(failure.graphSeed)): \(failure.message)"
            )
        } else {
            lines.append("all checks passed")
        }
        return lines.joined(separator: "\n")
    }
}

extension StressReport.Failure {
    init(_ failure: StressFailure) {
        self.init(
            check: failure.check.rawValue, message: failure.message, graphSeed: failure.graphSeed,
            grain: failure.planOptions.grain, inlineThreshold: failure.planOptions.inlineThreshold,
            maxChunksPerNode: failure.planOptions.maxChunksPerNode)
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Runs the stress test: generates graphs, checks each (determinism across
/// thread counts and repeats, agreement with the reference executor,
/// finite differences), and reports.
public struct StressRunner: Sendable {
    public let options: StressOptions

    /// A runner with `options`.
    public init(options: StressOptions) { self.options = options }

    /// Runs until the limit or the first failure.
    ///
    /// - Parameters:
    ///   - runtimes: One runtime per thread count of the options, in order.
    ///   - progress: Called after each graph.
    /// - Returns: The report; its ``StressReport/failure`` is set when a
    ///   check failed, and ``failedGraph`` holds the graph.
    public func run(
        runtimes: [Runtime], progress: (StressProgress) -> Void = { _ in }
    ) -> (report: StressReport, failedGraph: AnyGraph?) {
        precondition(runtimes.count == options.threadCounts.count)
        let generator = StressGenerator(settings: options.settings)
        var report = StressReport(seed: options.seed, threadCounts: options.threadCounts)
        report.soak = options.soak
        var latencies = [[UInt64]](repeating: [], count: runtimes.count)
        var state = StressProgress()
        var bytesWritten = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var failedGraph: AnyGraph?
        var digest = ResultDigest()
        var index = 0
        let warmUp: (graphs: Int, seconds: Double) = (10, 2)
        var baselineTaken = false
        func finished() -> Bool {
            if let seeds = options.graphSeeds, index >= seeds.count { return true }
            switch options.limit {
            case .iterations(let n): return index >= n
            case .duration(let seconds): return elapsed() >= seconds
            }
        }
        while !finished() {

            let graphSeed = options.graphSeed(index)
            do {
                let graph = try generator.graph(seed: graphSeed)
                let result: GraphCheckResult
                switch graph {
                case .float32(let g):
                    result = try check(
                        g, graphSeed: graphSeed, runtimes: runtimes, fine: graphSeed % 2 == 0)
                case .float64(let g):
                    result = try check(
                        g, graphSeed: graphSeed, runtimes: runtimes, fine: graphSeed % 2 == 0)
                }
                report.graphs += 1
                report.nodes += graph.nodeCount
                report.runs += result.runs
                for (k, l) in result.latencies.enumerated() {
                    latencies[k].append(contentsOf: l)
                    report.runSeconds += Double(l.reduce(0, +)) / 1e9
                }
                report.nodesPerSecond += Double(graph.nodeCount * result.runs)
                bytesWritten += Double(result.bytesPerRun * result.runs)
                for (check, count) in result.checks {
                    report.checksPassed[check.rawValue, default: 0] += count
                    state.checksPassed += count
                }
                report.skippedFiniteDifferences += result.skippedFiniteDifferences
                digest.add(result.digest.value)
            } catch let failure as StressFailure {
                report.failure = .init(failure)
                report.graphs += 1
                report.nodes += failure.graph?.nodeCount ?? 0
                failedGraph = failure.graph
            } catch {
                report.failure = .init(
                    StressFailure(
                        check: .execution, message: "graph generation: \(error)",
                        graphSeed: graphSeed, graph: nil, planOptions: PlanOptions()))
            }
            index += 1
            let rss = Self.residentBytes()
            if !baselineTaken && (index >= warmUp.graphs || elapsed() >= warmUp.seconds) {
                report.residentBytesBaseline = rss
                baselineTaken = true
            }
            report.residentBytesPeak = Swift.max(report.residentBytesPeak, rss)
            if options.soak && baselineTaken && report.failure == nil
                && rss - report.residentBytesBaseline > options.maxRSSGrowth
            {
                report.failure = .init(
                    check: StressFailure.Check.memory.rawValue,
                    message:
                        "resident memory grew by \(Self.size(rss - report.residentBytesBaseline)) after the warm-up (bound \(Self.size(options.maxRSSGrowth)))",
                    graphSeed: graphSeed, grain: 0, inlineThreshold: 0, maxChunksPerNode: 0)
            }
            state.graphs = report.graphs
            state.runs = report.runs
            state.elapsedSeconds = elapsed()
            state.residentBytes = rss
            progress(state)
            if report.failure != nil { break }
        }
        report.elapsedSeconds = elapsed()
        report.digest = digest.hex
        report.residentBytesEnd = Self.residentBytes()
        report.residentBytesPeak = Swift.max(report.residentBytesPeak, report.residentBytesEnd)
        if !baselineTaken { report.residentBytesBaseline = report.residentBytesEnd }
        report.graphsPerSecond = Double(report.graphs) / Swift.max(report.elapsedSeconds, 1e-9)
        report.nodesPerSecond /= Swift.max(report.runSeconds, 1e-9)
        report.gigabytesPerSecond = bytesWritten / Swift.max(report.runSeconds, 1e-9) / 1e9
        report.latency = zip(options.threadCounts, latencies).map { threads, values in
            let sorted = values.sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                let rank = Int((p * Double(sorted.count - 1)).rounded(.up))
                return Double(sorted[rank]) / 1000
            }
            return .init(
                threads: threads, runs: sorted.count, p50Microseconds: percentile(0.5),
                p90Microseconds: percentile(0.9), p99Microseconds: percentile(0.99),
                maxMicroseconds: percentile(1))
        }
        return (report, failedGraph)
    }

    private func check<T: TensorElement>(
        _ graph: Graph<T>, graphSeed: UInt64, runtimes: [Runtime], fine: Bool
    ) throws(StressFailure) -> GraphCheckResult {
        try GraphChecker(
            graph: graph, graphSeed: graphSeed, options: options, runtimes: runtimes,
            injectFault: options.injectFault, planOptions: GraphChecker<T>.planOptions(fine: fine)
        ).run()
    }

    /// `bytes` for a message: `5.3 MiB`, `1.0 KiB`, `512 bytes`.
    static func size(_ bytes: Int) -> String {
        if Swift.abs(bytes) >= 1 << 20 {
            return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
        }
        if Swift.abs(bytes) >= 1 << 10 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
        return "\(bytes) bytes"
    }

    /// The process's resident memory in bytes (`/proc/self/statm`), or 0
    /// where that cannot be read.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
            return 0
        }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
