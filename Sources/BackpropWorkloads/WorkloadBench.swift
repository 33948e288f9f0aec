import Backprop
import Dispatch
import Foundation

/// The workloads `backprop bench` runs, by the names its output uses.
public enum BenchWorkload: String, CaseIterable, Sendable {
    case s1 = "S1"
    case s2 = "S2"
    case s3 = "S3"
    case s4 = "S4"
    case s5 = "S5"
    case chain
    case wavefront
    case randomLevels = "random-levels"

    /// What one timed repetition is.
    public var unit: String {
        switch self {
        case .s1: "forward + backward of the compiled plan (N = 10^6; 10^4 with --quick)"
        case .s2: "one training step: forward + backward + SGD update (lr 0.01)"
        case .s3: "forward + backward"
        case .s4: "one epoch: 1,024 minibatch SGD steps"
        case .s5: "one epoch: 24 Adam steps (the figure: µs per step)"
        case .chain, .wavefront, .randomLevels: "forward + backward"
        }
    }
}

/// One workload at one thread count: times and derived figures.
public struct BenchMeasurement: Sendable {
    public var workload: BenchWorkload
    public var threads: Int
    /// Wall time of each timed repetition, in nanoseconds.
    public var times: [Double]
    /// Logical nodes (S1 and the scheduler shapes), for ns per node.
    public var nodes: Int?
    /// FLOPs per repetition (S2), for GFLOP/s.
    public var flops: Double?
    /// Bytes per repetition (S3), for GB/s.
    public var bytes: Double?
    /// Training steps per repetition (S5), for µs per step.
    public var steps: Int?
    /// S1 only: build + plan + forward + backward, ns per logical node.
    public var eagerNanosecondsPerNode: Double?
    /// The workload's cross-check values (S1: omega, grad_sum; S4: final_loss; …).
    public var check: [(name: String, value: Double)]
    /// Whether matrix products went to a BLAS, and the NUMA system.
    public var blas: Bool
    public var numa: String
    /// The threads alive in the process after the workload ran
    /// (`/proc/self/task`; `nil` where that cannot be read): the caller's,
    /// the runtime's workers Dispatch keeps, and anything a library started
    /// on its own — a BLAS thread pool would show here.
    public var processThreads: Int?

    public var medianMilliseconds: Double { times.sorted()[times.count / 2] / 1e6 }
    public var minMilliseconds: Double { times.min()! / 1e6 }
    public var maxMilliseconds: Double { times.max()! / 1e6 }
    public var nanosecondsPerNode: Double? { nodes.map { medianMilliseconds * 1e6 / Double($0) } }
    public var gigaflops: Double? { flops.map { $0 / (medianMilliseconds * 1e6) } }
    public var gigabytesPerSecond: Double? { bytes.map { $0 / (medianMilliseconds * 1e6) } }
    /// S5's figure: the median repetition's time per training step, in µs.
    public var microsecondsPerStep: Double? {
        steps.map { medianMilliseconds * 1e3 / Double($0) }
    }
}

/// Runs the fixed workloads (`shared/workloads.md`) the way `backprop bench`
/// and the peer comparison measure them: graph built and plan compiled once,
/// one warm-up repetition, then `repetitions` timed ones; the median is the
/// figure, min and max show the spread.
public struct WorkloadBench: Sendable {
    public var repetitions: Int
    /// Smaller sizes, for smoke tests (S1 N = 10^4, S3 length 4096, chain 10^5;
    /// S5 is small already and stays as it is).
    public var quick: Bool
    /// Whether S3's plan fuses its backward pass too (`PlanOptions.fusedBackward`).
    public var fusedBackward = false

    public init(repetitions: Int = 10, quick: Bool = false) {
        self.repetitions = Swift.max(1, repetitions)
        self.quick = quick
    }

    /// Measures `workload` on `runtime`.
    public func measure(_ workload: BenchWorkload, on runtime: Runtime) throws -> BenchMeasurement {
        var m = BenchMeasurement(
            workload: workload, threads: runtime.threads, times: [], check: [], blas: false,
            numa: runtime.numaDescription)
        switch workload {
        case .s1:
            let n = quick ? 10_000 : 1_000_000
            let graph = try Workloads.scalarDAG(nodes: n)
            let execution = try Execution(plan: Plan(graph), runtime: runtime)
            m.times = try time { try execution.run(on: runtime) }
            m.nodes = n
            m.check = [("omega", Double(execution.output.scalar!))] + Self.gradientChecks(execution)
            let eager = try time(Swift.min(repetitions, 3)) {
                let e = try Execution(
                    plan: Plan(try Workloads.scalarDAG(nodes: n)), runtime: runtime)
                try e.run(on: runtime)
            }
            m.eagerNanosecondsPerNode = eager.sorted()[eager.count / 2] / Double(n)
        case .s2:
            // A training plan: forward, backward and the SGD update in one
            // pass of the workers (Note [Optimizer phases]).
            let plan = Plan(
                try Workloads.mlp(), options: PlanOptions(optimizer: .sgd(learningRate: 0.01)))
            let execution = try Execution(plan: plan, runtime: runtime)
            var firstLoss: Float?
            m.times = try time {
                try execution.step(on: runtime)
                if firstLoss == nil { firstLoss = execution.scalarOutput }
            }
            m.flops = Workloads.mlpFlopsPerStep
            m.blas = plan.usesBLAS
            // The loss at the initial weights (the first step's), as the peers report it.
            m.check = [("loss", Double(firstLoss ?? .nan))]
        case .s3:
            let length = quick ? 4096 : 16_384
            let execution = try Execution(
                plan: Plan(
                    try Workloads.wideDAG(length: length),
                    options: PlanOptions(fusedBackward: fusedBackward)),
                runtime: runtime)
            m.times = try time { try execution.run(on: runtime) }
            m.bytes = Workloads.wideDAGBytes(length: length)
            m.check =
                [("omega", Double(execution.output.scalar!))]
                + Self.gradientChecks(execution).filter { $0.name == "grad_sum" }
        case .s4:
            let data = Workloads.logisticData()
            let batch = 64
            let plan = Plan(
                try Workloads.logisticLoss(batch: batch, features: data.features),
                options: PlanOptions(optimizer: .sgd(learningRate: 0.1)))
            m.blas = plan.usesBLAS
            var weights: [Double] = []
            m.times = try time {
                // A fresh execution per epoch: w starts at 0 every time. The
                // trainer reads the minibatches in place (bound, not copied).
                let execution = try Execution(plan: plan, runtime: runtime)
                var trainer = try Trainer(execution: execution, batchSize: batch)
                try trainer.epoch(samples: data.x, labels: data.y, on: runtime)
                weights = execution.parameter("w")!.scalars
            }
            // The loss over all 65,536 samples, outside the timed epochs.
            m.check = [("final_loss", Self.logLoss(data, weights: weights))]
        case .s5:
            // Each epoch starts from the initial weights and a fresh Adam
            // (Note [S5 epochs start afresh]); the restart is not timed.
            let s5 = try SmallMLPTraining(runtime: runtime)
            m.blas = s5.execution.plan.usesBLAS
            var loss = Double.nan
            m.times = try time(prepare: { try s5.restart() }) { loss = try s5.epoch(on: runtime) }
            m.steps = s5.stepsPerEpoch
            m.check = [("final_loss", loss)]
        case .chain, .wavefront, .randomLevels:
            let graph: Graph<Double>
            switch workload {
            case .chain: graph = try Workloads.linearChain(nodes: quick ? 100_000 : 1_000_000)
            case .wavefront: graph = try Workloads.wavefront(side: 64)
            default: graph = try Workloads.randomLevels(levels: 256, width: 256)
            }
            let execution = try Execution(plan: Plan(graph), runtime: runtime)
            m.times = try time { try execution.run(on: runtime) }
            m.nodes = graph.count
            m.check =
                [("omega", Double(execution.output.scalar!))]
                + Self.gradientChecks(execution).filter { $0.name == "grad_sum" }
        }
        m.processThreads = Self.processThreadCount()
        return m
    }

    /// The sum of all input gradients (`grad_sum`) and the first three
    /// inputs' gradients (`grad_0`…; scalar inputs), in input order.
    static func gradientChecks<T: TensorElement>(_ execution: Execution<T>) -> [(
        name: String, value: Double
    )] {
        let graph = execution.plan.graph
        var sum = 0.0
        var firsts: [(name: String, value: Double)] = []
        for (k, node) in graph.inputs.enumerated() {
            guard let g = execution.gradient(of: graph.name(of: node)) else { continue }
            sum += g.scalars.reduce(0.0) { $0 + Double($1) }
            if k < 3, g.count == 1 { firsts.append(("grad_\(k)", Double(g.scalars[0]))) }
        }
        return [("grad_sum", sum)] + firsts
    }

    /// One warm-up call, then the wall time of each of `count` calls.
    func time(_ count: Int? = nil, _ body: () throws -> Void) rethrows -> [Double] {
        try time(count, prepare: {}, body)
    }

    /// One warm-up call, then the wall time of each of `count` calls;
    /// `prepare` runs before each call, untimed.
    func time(
        _ count: Int? = nil, prepare: () throws -> Void, _ body: () throws -> Void
    ) rethrows -> [Double] {
        try prepare()
        try body()
        return try (0..<(count ?? repetitions)).map { _ in
            try prepare()
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }
    }

    /// The number of threads in this process, or `nil` where
    /// `/proc/self/task` cannot be read.
    public static func processThreadCount() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task"))?.count
    }

    /// S4's mean log loss over all samples at `weights` (computed directly).
    static func logLoss(_ data: Workloads.LogisticData, weights: [Double]) -> Double {
        var total = 0.0
        for i in 0..<data.samples {
            var z = 0.0
            for k in 0..<data.features { z += data.x[i * data.features + k] * weights[k] }
            // log(1 + e^z) − y·z, stably.
            total +=
                Swift.max(z, 0) - data.y[i] * z + Foundation.log1p(Foundation.exp(-Swift.abs(z)))
        }
        return total / Double(data.samples)
    }
}
