import ArgumentParser
import Backprop
import Foundation

/// The options that say how the runtime runs a plan — `--threads`, and the
/// plan options `--grain`, `--inline-threshold` and `--max-chunks` —
/// declared and checked once for every command that runs one plan at one
/// thread count (`run`, `train`):
///
/// ```swift
/// @OptionGroup var runtimeOptions: RuntimeOptions
///
/// func run() throws(CLIFailure) {
///     let runtime = try runtimeOptions.runtime()      // checks every value first
///     let plan = Plan(graph, options: runtimeOptions.planOptions())
/// }
/// ```
///
/// A bad value is bad input (exit status 2) with the same `error:` line in
/// every command (docs/cli.md, "Runtime options"). `bench` and `stress`,
/// which run at a list of thread counts, read their `--threads` list with
/// ``threadCounts(_:)``, against the same range.
struct RuntimeOptions: ParsableArguments {
    /// The thread counts a command accepts.
    static let threadRange = 1...1024

    @Option(help: "Worker threads, 1 to 1024 (default: BACKPROP_THREADS, else the active cores).")
    var threads: Int?

    @Option(help: "Plan option: the target cost of one chunk (element-operations).")
    var grain = PlanOptions().grain

    @Option(help: "Plan option: levels cheaper than this run inline on one worker.")
    var inlineThreshold = PlanOptions().inlineThreshold

    @Option(help: "Plan option: the most chunks one node is split into.")
    var maxChunks = PlanOptions().maxChunksPerNode

    /// Checks every value; the first bad one is bad input.
    func check() throws(CLIFailure) {
        if let threads, !Self.threadRange.contains(threads) {
            throw .badInput(
                "--threads must be from \(Self.threadRange.lowerBound) to "
                    + "\(Self.threadRange.upperBound), got \(threads)")
        }
        guard grain >= 1 else { throw .badInput("--grain must be at least 1, got \(grain)") }
        guard inlineThreshold >= 0 else {
            throw .badInput("--inline-threshold must not be negative, got \(inlineThreshold)")
        }
        guard maxChunks >= 1 else {
            throw .badInput("--max-chunks must be at least 1, got \(maxChunks)")
        }
    }

    /// The runtime to run on, after ``check()``: `--threads` workers, or
    /// the default; configured strictly from the environment
    /// (`configuredRuntime(threads:environment:)`).
    func runtime() throws(CLIFailure) -> Runtime {
        try check()
        return try configuredRuntime(threads: threads)
    }

    /// The plan options given (check them first, with ``runtime()`` or
    /// ``check()``), with `optimizer` for a training plan.
    func planOptions(optimizer: Optimizer? = nil) -> PlanOptions {
        PlanOptions(
            grain: grain, inlineThreshold: inlineThreshold, maxChunksPerNode: maxChunks,
            optimizer: optimizer)
    }

    /// A `--threads` list such as `1,2,4`: each count in ``threadRange``,
    /// no empty item; anything else is bad input.
    static func threadCounts(_ text: String) throws(CLIFailure) -> [Int] {
        let counts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !counts.isEmpty, counts.allSatisfy({ threadRange.contains($0 ?? 0) }) else {
            throw .badInput(
                "--threads: '\(text)' is not a list of thread counts from "
                    + "\(threadRange.lowerBound) to \(threadRange.upperBound)")
        }
        return counts.map { $0! }
    }
}
