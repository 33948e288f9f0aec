import AllocationCounter
import BackpropWorkloads
import Foundation
import Testing

@testable import Backprop

/// Training through the runtime: optimizer phases against hand-written
/// updates, S4 against NumPy, determinism across thread counts, the MLP on
/// spirals, and allocation-free steps.
@Suite struct TrainingTests {
    /// Plan options that split even small nodes into many chunks, so that
    /// update phases (and the rest) run in parallel.
    static let fine = PlanOptions(grain: 64, inlineThreshold: 128, maxChunksPerNode: 8)

    /// x·w and the lecture's gradient ∇J_B = −(1/|B|) Σ (y − σ(w·x)) x, by hand.
    static func lectureGradient(w: [Double], x: ArraySlice<Double>, y: ArraySlice<Double>)
        -> (loss: Double, gradient: [Double])
    {
        let d = w.count, n = y.count
        var g = [Double](repeating: 0, count: d)
        var loss = 0.0
        for (i, yi) in y.enumerated() {
            let row = x[(x.startIndex + i * d)..<(x.startIndex + (i + 1) * d)]
            let z = zip(w, row).reduce(0) { $0 + $1.0 * $1.1 }
            let p = 1 / (1 + Foundation.exp(-z))
            loss -= (yi * Foundation.log(p) + (1 - yi) * Foundation.log(1 - p)) / Double(n)
            for (k, xk) in row.enumerated() { g[k] -= (yi - p) * xk / Double(n) }
        }
        return (loss, g)
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
        Swift.abs(a - b) <= tolerance * Swift.max(1, Swift.abs(b))
    }

    // MARK: One step against the lecture

    @Test(arguments: [(1 as UInt64, 64, 8), (2, 1, 3), (3, 37, 16), (4, 128, 32)])
    func sgdStepEqualsTheLectureUpdate(seed: UInt64, batch: Int, features: Int) throws {
        var rng = LCG(seed: seed)
        let model = Model<Double>.logisticRegression(features: features)
        for options in [PlanOptions(), Self.fine] {
            var opts = options
            opts.optimizer = .sgd(learningRate: 0.1)
            let execution = try Execution(
                plan: Plan(try model.trainingGraph(batch: batch), options: opts))
            var w = (0..<features).map { _ in rng.uniform(-1, 1) }
            try execution.setInput("w", Tensor(shape: [features, 1], scalars: w))
            for _ in 0..<5 {
                let x = (0..<(batch * features)).map { _ in rng.uniform(-2, 2) }
                let y = (0..<batch).map { _ in Double(rng.int(2)) }
                try execution.setInput("x", from: x[...])
                try execution.setInput("y", from: y[...])
                try execution.step(on: Runtime(threads: 2))
                let (loss, g) = Self.lectureGradient(w: w, x: x[...], y: y[...])
                #expect(Self.close(execution.scalarOutput!, loss))
                for k in 0..<features { w[k] -= 0.1 * g[k] }
                let got = execution.parameter("w")!.scalars
                for (a, e) in zip(got, w) { #expect(Self.close(a, e), "\(a) vs \(e)") }
                for (a, e) in zip(execution.gradient(of: "w")!.scalars, g) {
                    #expect(Self.close(a, e))
                }
            }
            #expect(execution.stepCount == 5)
        }
    }

    // MARK: The optimizers against hand-written updates

    /// A small regression with two parameters and a bias, so that every
    /// rule sees a matrix, a vector and broadcasting.
    static func regression(batch: Int = 24) throws -> Graph<Double> {
        var rng = LCG(seed: 21)
        let b = GraphBuilder<Double>()
        let x = b.input("x", .random([batch, 6], &rng))
        let t = b.input("t", .random([batch, 3], &rng))
        let w = b.parameter("W", .random([6, 3], &rng))
        let bias = b.parameter("b", .random([3], &rng))
        let r = x.matmul(w) + bias - t
        return try b.build(output: (r * r).mean() + tanh(w).sum() * 0.01)
    }

    /// One update of `w` with gradient `g`, written out from the formulas
    /// in `Optimizer`'s documentation (state: v, or m then v).
    static func handUpdate(
        _ o: Optimizer, w: inout [Double], g: [Double], state: inout [[Double]], t: Int
    ) {
        let lr = o.learningRate, wd = o.weightDecay
        for e in w.indices {
            switch o.method {
            case .sgd(let mu, let nesterov):
                let d = wd == 0 ? g[e] : g[e] + wd * w[e]
                if mu == 0 {
                    w[e] = w[e] - lr * d
                } else {
                    state[0][e] = mu * state[0][e] + d
                    w[e] = w[e] - lr * (nesterov ? d + mu * state[0][e] : state[0][e])
                }
            case .adam(let b1, let b2, let eps, let decoupled):
                let d = decoupled || wd == 0 ? g[e] : g[e] + wd * w[e]
                state[0][e] = b1 * state[0][e] + (1 - b1) * d
                state[1][e] = b2 * state[1][e] + (1 - b2) * (d * d)
                let stepSize = lr / (1 - Foundation.pow(b1, Double(t)))
                let root = 1 / (1 - Foundation.pow(b2, Double(t))).squareRoot()
                let decay = decoupled ? 1 - lr * wd : 1
                w[e] =
                    w[e] * decay - stepSize
                    * (state[0][e] / (state[1][e].squareRoot() * root + eps))
            }
        }
    }

    static let optimizers: [Optimizer] = [
        .sgd(learningRate: 0.05),
        .sgd(learningRate: 0.05, weightDecay: 0.1),
        .sgd(learningRate: 0.05, momentum: 0.9),
        .sgd(learningRate: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01),
        .adam(learningRate: 0.01),
        .adam(learningRate: 0.01, beta1: 0.8, beta2: 0.99, weightDecay: 0.1),
        .adam(learningRate: 0.01, weightDecay: 0.1, decoupledWeightDecay: true),
    ]

    @Test(arguments: optimizers)
    func optimizerMatchesItsFormula(optimizer: Optimizer) throws {
        let graph = try Self.regression()
        var options = Self.fine
        options.optimizer = optimizer
        let execution = try Execution(plan: Plan(graph, options: options))
        var params = [
            "W": execution.parameter("W")!.scalars, "b": execution.parameter("b")!.scalars,
        ]
        var state = params.mapValues {
            [[Double]](repeating: [Double](repeating: 0, count: $0.count), count: 2)
        }
        var rng = LCG(seed: 5)
        for t in 1...6 {
            try execution.setInput("x", .random([24, 6], &rng))
            try execution.step(on: Runtime(threads: 2))
            for name in ["W", "b"] {
                // After a step the gradients are those of the parameters before it.
                let g = execution.gradient(of: name)!.scalars
                Self.handUpdate(optimizer, w: &params[name]!, g: g, state: &state[name]!, t: t)
                let got = execution.parameter(name)!.scalars
                for (a, e) in zip(got, params[name]!) {
                    #expect(Self.close(a, e, 1e-13), "\(optimizer) step \(t) \(name): \(a) vs \(e)")
                }
            }
        }
    }

    // MARK: Determinism

    /// Trains `graph` for `steps` steps on fresh inputs at `threads` workers.
    static func trainedWeights<T: TensorElement>(
        _ graph: Graph<T>, options: PlanOptions, threads: Int, steps: Int,
        feed: (Execution<T>, Int) throws -> Void
    ) throws -> [String: Tensor<T>] {
        let execution = try Execution(plan: Plan(graph, options: options))
        let runtime = Runtime(threads: threads)
        for s in 0..<steps {
            try feed(execution, s)
            try execution.step(on: runtime)
        }
        return execution.parameters
    }

    @Test(arguments: optimizers)
    func weightsAreBitwiseIdenticalForAnyThreadCount(optimizer: Optimizer) throws {
        // An MLP in Float (a classifier with matrix products, joins and
        // broadcasting) and the regression in Double.
        let data = Workloads.spirals(classes: 3, samplesPerClass: 64)
        let model = Model<Float>.mlp(layers: [2, 48, 48, 3], activation: .tanh, seed: 3)
        let x = data.x.map(Float.init), y = data.labels.map(Float.init)
        for base in [PlanOptions(), Self.fine] {
            var options = base
            options.optimizer = optimizer
            let mlp = try model.trainingGraph(batch: 32)
            let runs = try [1, 2, 3].map { threads in
                try Self.trainedWeights(mlp, options: options, threads: threads, steps: 6) { e, s in
                    let b = s % 6
                    try e.setInput("x", from: x[(b * 64)..<((b + 1) * 64)])
                    try e.setInput("y", from: y[(b * 32)..<((b + 1) * 32)])
                }
            }
            for run in runs.dropFirst() {
                for (name, value) in runs[0] {
                    #expect(run[name]!.isBitwiseEqual(to: value), "\(optimizer): \(name)")
                }
            }
            let regression = try Self.regression()
            let doubles = try [1, 2, 4].map { threads in
                try Self.trainedWeights(regression, options: options, threads: threads, steps: 5) {
                    e, s in
                    var rng = LCG(seed: UInt64(s))
                    try e.setInput("x", .random([24, 6], &rng))
                }
            }
            #expect(doubles[1] == doubles[0] && doubles[2] == doubles[0], "\(optimizer)")
        }
    }

    // MARK: S4 against NumPy

    /// S4 (workloads notes): d = 256, n = 65,536, minibatch 64 in order,
    /// learning rate 0.1, w = 0, one epoch. The reference is
    /// Benchmarks/peers/s4_logreg_numpy.py, which prints the final mean
    /// training log loss over all samples.
    static let s4NumPyLoss = 0.17747965922003622

    @Test func s4OneEpochMatchesNumPy() throws {
        let data = Workloads.logisticData()
        let model = Model<Double>.logisticRegression(features: 256)
        // One execution at 1 thread with the default plan, one at 2 threads
        // with a plan fine enough to split the matrix products and the
        // update, trained in lockstep on the same minibatches.
        var serial = PlanOptions(), parallel = PlanOptions(grain: 2048, inlineThreshold: 4096)
        serial.optimizer = .sgd(learningRate: 0.1)
        parallel.optimizer = serial.optimizer
        let graph = try model.trainingGraph(batch: 64)
        let executions = try [serial, parallel].map {
            try Execution(plan: Plan(graph, options: $0))
        }
        #expect(executions[1].plan.isParallel && executions[1].plan.statistics.updatePhases == 1)
        let runtimes = [Runtime(threads: 1), Runtime(threads: 2)]
        for b in 0..<1024 {
            for (execution, runtime) in zip(executions, runtimes) {
                try execution.setInput("x", from: data.x[(b * 64 * 256)..<((b + 1) * 64 * 256)])
                try execution.setInput("y", from: data.y[(b * 64)..<((b + 1) * 64)])
                try execution.step(on: runtime)
            }
        }
        let (loss, accuracy) = try ModelEvaluator(model: model, batch: 8192).evaluate(
            parametersFrom: executions[0], x: data.x, y: data.y)
        #expect(Swift.abs(loss - Self.s4NumPyLoss) <= 1e-10, "\(loss)")
        #expect(accuracy > 0.97)
        #expect(
            executions[0].parameter("w")!.isBitwiseEqual(to: executions[1].parameter("w")!))
    }

    // MARK: The MLP

    @Test func mlpLearnsSpirals() throws {
        let data = Workloads.spirals(classes: 3, samplesPerClass: 128)
        let model = Model<Float>.mlp(layers: [2, 32, 32, 3], activation: .relu, seed: 1)
        var options = PlanOptions()
        options.optimizer = .adam(learningRate: 0.02)
        let batch = 32
        let execution = try Execution(
            plan: Plan(try model.trainingGraph(batch: batch), options: options))
        let x = data.x.map(Float.init), y = data.labels.map(Float.init)
        let evaluator = ModelEvaluator(model: model, batch: 128)
        var accuracy = 0.0
        for _ in 0..<120 {
            for b in 0..<(data.samples / batch) {
                try execution.setInput("x", from: x[(b * batch * 2)..<((b + 1) * batch * 2)])
                try execution.setInput("y", from: y[(b * batch)..<((b + 1) * batch)])
                try execution.step()
            }
            accuracy = try evaluator.evaluate(parametersFrom: execution, x: x, y: y).accuracy
            if accuracy >= 0.99 { break }
        }
        #expect(accuracy >= 0.95, "training accuracy \(accuracy)")
    }
}
