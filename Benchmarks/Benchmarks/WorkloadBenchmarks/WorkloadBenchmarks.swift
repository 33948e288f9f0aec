// Benchmark names carry no spaces or brackets: 1.38.1 writes threshold
// files under a cleaned name but reads them under the raw one.
//
// The fixed workloads under ordo-one/benchmark: wall clock, throughput and
// malloc counts (all threads, through the malloc interposer). The static
// thresholds in Thresholds/ fail `swift package benchmark thresholds check`
// when steady-state re-execution of a plan allocates at 1 thread. At 2
// threads Dispatch's hand-off to the second worker allocates (a block copy,
// docs/scheduling.md §6), so those runs are reported, not gated.
import Backprop
import BackpropWorkloads
import Benchmark

/// A compiled workload and an execution of it, ready to re-run.
struct Prepared<T: TensorElement>: @unchecked Sendable {
    let execution: Execution<T>
    let runtime: Runtime

    init(_ graph: Graph<T>, threads: Int, options: PlanOptions = PlanOptions()) throws {
        runtime = Runtime(threads: threads)
        execution = try Execution(plan: Plan(graph, options: options), runtime: runtime)
        try execution.run(on: runtime)  // the first run touches every page
    }

    func run() throws { try execution.run(on: runtime) }
}

/// S5 small-mlp, ready to train: one iteration is S5's epoch — back to
/// the initial weights and a fresh Adam, then 24 steps
/// (Note [S5 epochs start afresh] in BackpropWorkloads).
struct PreparedSmallMLP: @unchecked Sendable {
    let training: SmallMLPTraining
    let runtime: Runtime

    init(threads: Int) throws {
        runtime = Runtime(threads: threads)
        training = try SmallMLPTraining(runtime: runtime)
        try epoch()  // the first epoch touches every page
    }

    func epoch() throws {
        try training.restart()
        try training.epoch(on: runtime)
    }
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]
    // Re-execution allocates nothing: the p90 of mallocs must stay at 0.
    let noAllocations = Benchmark.Configuration(
        metrics: metrics, maxDuration: .seconds(3),
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])])
    let reported = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(3))
    do {
        let s1 = try Prepared(try Workloads.scalarDAG(nodes: 10_000), threads: 1)
        Benchmark("S1-N10000-tape", configuration: noAllocations) { benchmark in
            for _ in benchmark.scaledIterations { try s1.run() }
        }
        let s1Levels = try Prepared(
            try Workloads.scalarDAG(nodes: 10_000), threads: 1,
            options: PlanOptions(scalarTape: false))
        Benchmark("S1-N10000-levels-1thread", configuration: noAllocations) {
            benchmark in
            for _ in benchmark.scaledIterations { try s1Levels.run() }
        }
        for threads in [1, 2] {
            let s2 = try Prepared(try Workloads.mlp(), threads: threads)
            Benchmark(
                "S2-forward-backward-\(threads)thread",
                configuration: threads == 1 ? noAllocations : reported
            ) { benchmark in
                for _ in benchmark.scaledIterations { try s2.run() }
            }
            let s3 = try Prepared(try Workloads.wideDAG(), threads: threads)
            Benchmark(
                "S3-forward-backward-\(threads)thread",
                configuration: threads == 1 ? noAllocations : reported
            ) { benchmark in
                for _ in benchmark.scaledIterations { try s3.run() }
            }
        }
        for threads in [1, 2] {
            // One iteration is an epoch of 24 training steps (forward,
            // backward, Adam); the steps themselves allocate nothing.
            let s5 = try PreparedSmallMLP(threads: threads)
            Benchmark(
                "S5-epoch-\(threads)thread",
                configuration: threads == 1 ? noAllocations : reported
            ) { benchmark in
                for _ in benchmark.scaledIterations { try s5.epoch() }
            }
        }
        let shapes: [(String, Graph<Double>)] = [
            ("chain-100000", try Workloads.linearChain(nodes: 100_000)),
            ("wavefront-64x64", try Workloads.wavefront(side: 64)),
            ("random-levels-256x256", try Workloads.randomLevels(levels: 256, width: 256)),
        ]
        for (name, graph) in shapes {
            let prepared = try Prepared(graph, threads: 1)
            Benchmark("\(name)-1thread", configuration: noAllocations) { benchmark in
                for _ in benchmark.scaledIterations { try prepared.run() }
            }
        }
    } catch {
        fatalError("preparing the workloads failed: \(error)")
    }
}
