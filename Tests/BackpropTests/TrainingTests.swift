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
        var rng = WorkloadGenerator(seed: seed)
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
        var rng = WorkloadGenerator(seed: 21)
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
        var rng = WorkloadGenerator(seed: 5)
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
                    var rng = WorkloadGenerator(seed: UInt64(s))
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
        // One execution at 1 thread with the default plan, its minibatches
        // copied in; one at 2 threads with a plan fine enough to split the
        // matrix products and the update, its minibatches bound in place;
        // trained in lockstep.
        var serial = PlanOptions(), parallel = PlanOptions(grain: 128, inlineThreshold: 256)
        serial.optimizer = .sgd(learningRate: 0.1)
        parallel.optimizer = serial.optimizer
        let graph = try model.trainingGraph(batch: 64)
        let executions = try [serial, parallel].map {
            try Execution(plan: Plan(graph, options: $0))
        }
        #expect(
            executions[1].plan.tables.isParallel && executions[1].plan.statistics.updatePhases == 1)
        let runtimes = [Runtime(threads: 1), Runtime(threads: 2)]
        try data.x.withUnsafeBufferPointer { x in
            for b in 0..<1024 {
                try executions[0].setInput("x", from: data.x[(b * 64 * 256)..<((b + 1) * 64 * 256)])
                try executions[0].setInput("y", from: data.y[(b * 64)..<((b + 1) * 64)])
                try executions[0].step(on: runtimes[0])
                try executions[1].bindInput(
                    "x",
                    toUnsafeBuffer: UnsafeBufferPointer(
                        rebasing: x[(b * 64 * 256)..<((b + 1) * 64 * 256)]))
                try executions[1].setInput("y", from: data.y[(b * 64)..<((b + 1) * 64)])
                try executions[1].step(on: runtimes[1])
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

/// The training API's contracts: what a run, a step, a learning-rate change,
/// a reset and a failure do and do not change; allocation-free steps.
@Suite struct TrainingAPITests {
    static func logistic(
        features: Int = 8, batch: Int = 16, optimizer: Optimizer = .sgd(learningRate: 0.1),
        options: PlanOptions = PlanOptions()
    ) throws -> Execution<Double> {
        var options = options
        options.optimizer = optimizer
        let model = Model<Double>.logisticRegression(features: features, bias: true)
        let execution = try Execution(
            plan: Plan(try model.trainingGraph(batch: batch), options: options))
        var rng = WorkloadGenerator(seed: 8)
        try execution.setInput("x", .random([batch, features], &rng))
        try execution.setInput(
            "y", Tensor(shape: [batch, 1], scalars: (0..<batch).map { _ in Double(rng.int(2)) }))
        try execution.setInput("w", .random([features, 1], &rng))
        return execution
    }

    @Test(arguments: [1, 2], [false, true])
    func stepsAllocateNothing(threads: Int, adam: Bool) throws {
        let runtime = Runtime(threads: threads)
        let optimizer: Optimizer =
            adam ? .adam(learningRate: 0.01) : .sgd(learningRate: 0.1, momentum: 0.9)
        // The lecture's model on S4-shaped data, in Double.
        let data = Workloads.logisticData(samples: 512, features: 32)
        let logistic = try Self.logistic(
            features: 32, batch: 64, optimizer: optimizer, options: TrainingTests.fine)
        #expect(logistic.plan.tables.isParallel)
        // An MLP in Float: matrix products, bias, ReLU, cross-entropy.
        let spirals = Workloads.spirals(classes: 3, samplesPerClass: 64)
        let (x, y) = (spirals.x.map(Float.init), spirals.labels.map(Float.init))
        var options = TrainingTests.fine
        options.optimizer = optimizer
        let mlp = try Execution(
            plan: Plan(
                try Model<Float>.mlp(layers: [2, 64, 64, 3]).trainingGraph(batch: 32),
                options: options))
        func steps(_ range: Range<Int>) throws -> Double {
            var loss = 0.0
            for step in range {
                let b = step % 6
                try logistic.setInput("x", from: data.x[(b * 64 * 32)..<((b + 1) * 64 * 32)])
                try logistic.setInput("y", from: data.y[(b * 64)..<((b + 1) * 64)])
                try logistic.step(on: runtime)
                loss += logistic.scalarOutput!
                try x.withUnsafeBufferPointer {
                    try mlp.bindInput(
                        "x",
                        toUnsafeBuffer: UnsafeBufferPointer(rebasing: $0[(b * 64)..<((b + 1) * 64)])
                    )
                }
                try mlp.setInput("y", from: y[(b * 32)..<((b + 1) * 32)])
                try mlp.step(on: runtime)
                loss += Double(mlp.scalarOutput!)
                logistic.learningRate *= 0.9
            }
            return loss
        }
        _ = try steps(0..<1)
        allocation_counter_begin()
        let loss = try steps(1..<11)
        let allocations = allocation_counter_end()
        // -1: counting unsupported on this platform. Not counted: what
        // libdispatch allocates itself to lend a pass its threads (see
        // Tests/AllocationCounter and docs/scheduling.md §4).
        #expect(allocations == 0 || allocations == -1, "\(allocations) allocations in 20 steps")
        #expect(loss.isFinite)
        #expect(logistic.stepCount == 11 && mlp.stepCount == 11)
    }

    @Test func runComputesGradientsWithoutUpdating() throws {
        let execution = try Self.logistic()
        let before = execution.parameters
        try execution.run()
        #expect(execution.parameters == before)
        #expect(execution.stepCount == 0)
        #expect(execution.gradient(of: "w") != nil && execution.gradient(of: "b") != nil)
        // Inputs are data: a training plan gives them no gradient.
        #expect(execution.gradient(of: "x") == nil)
        #expect(execution.gradients.keys.sorted() == ["b", "w"])
        #expect(Set(execution.parameterNames) == ["w", "b"])
        try execution.step()
        #expect(execution.parameters != before)
        #expect(execution.parameter("x") == nil && execution.parameter("nope") == nil)
    }

    @Test func learningRateChangesBetweenSteps() throws {
        let execution = try Self.logistic()
        execution.learningRate = 0
        let before = execution.parameters
        try execution.step()
        #expect(execution.parameters == before)
        execution.learningRate = 0.5
        #expect(execution.optimizer == .sgd(learningRate: 0.5))
        let w = execution.parameter("w")!.scalars
        try execution.step()
        let g = execution.gradient(of: "w")!.scalars
        #expect(execution.parameter("w")!.scalars == zip(w, g).map { $0 - 0.5 * $1 })

        try execution.setOptimizer(.sgd(learningRate: 0.1, momentum: 0.5))
        #expect(throws: TrainingError.optimizerMismatch(plan: "sgd", given: "adam")) {
            try execution.setOptimizer(.adam())
        }
        #expect(
            throws: TrainingError.invalidHyperparameter(
                name: "momentum", value: 1, expected: "in [0, 1)")
        ) {
            try execution.setOptimizer(.sgd(learningRate: 0.1, momentum: 1))
        }
        // An invalid learning rate is refused by the step, which changes nothing.
        execution.learningRate = -.infinity
        let now = execution.parameters
        #expect(throws: TrainingError.self) { try execution.step() }
        #expect(execution.parameters == now && execution.stepCount == 2)
    }

    @Test func stepNeedsAnOptimizer() throws {
        let model = Model<Double>.logisticRegression(features: 3)
        let execution = try Execution(plan: Plan(try model.trainingGraph(batch: 2)))
        #expect(throws: TrainingError.notTraining) { try execution.step() }
        #expect(throws: TrainingError.notTraining) { try execution.setOptimizer(.adam()) }
        execution.learningRate = 3
        #expect(execution.learningRate == 0 && execution.optimizer == nil)
        // Without an optimizer, inputs keep their gradients.
        try execution.setInput("x", .zeros([2, 3]))
        try execution.setInput("y", .zeros([2, 1]))
        try execution.run()
        #expect(execution.gradient(of: "x") != nil)
    }

    @Test func resetOptimizerStateStartsAfresh() throws {
        let trained = try Self.logistic(optimizer: .adam(learningRate: 0.05))
        for _ in 0..<3 { try trained.step() }
        trained.resetOptimizerState()
        #expect(trained.stepCount == 0)
        let fresh = try Self.logistic(optimizer: .adam(learningRate: 0.05))
        try fresh.copyParameters(from: trained)
        try trained.step()
        try fresh.step()
        #expect(trained.parameters == fresh.parameters)
    }

    @Test func aFailedStepChangesNothing() throws {
        var options = PlanOptions()
        options.optimizer = .adam(learningRate: 0.1)
        let model = Model<Float>.mlp(layers: [2, 8, 3])
        let execution = try Execution(
            plan: Plan(try model.trainingGraph(batch: 4), options: options))
        try execution.setInput("x", from: [0.5, 0.25, -1, 2, 0, 0, 1, 1][...])
        try execution.setInput("y", from: [0, 1, 2, 1][...])
        try execution.step()
        let before = execution.parameters
        try execution.setInput("y", from: [0, 1, 7, 1][...])
        #expect(throws: ExecutionError.self) { try execution.step() }
        #expect(execution.parameters == before && execution.stepCount == 1)
    }

    @Test func scalarTapeTrains() throws {
        // A graph of scalars lowers to a tape; its update runs after it.
        let b = GraphBuilder<Double>()
        let x = b.input("x", 2.0)
        let t = b.input("t", 1.0)
        let w = b.parameter("w", 0.5)
        let c = b.parameter("c", -0.25)
        let r = w * x + c - t
        let graph = try b.build(output: r * r)
        for mu in [0.0, 0.9] {
            var options = PlanOptions()
            options.optimizer = .sgd(learningRate: 0.1, momentum: mu)
            let execution = try Execution(plan: Plan(graph, options: options))
            #expect(execution.plan.tables.tape != nil)
            var (wv, cv, v) = (0.5, -0.25, (0.0, 0.0))
            for _ in 0..<4 {
                try execution.step()
                let residual = wv * 2 + cv - 1
                v = (mu * v.0 + 2 * residual * 2, mu * v.1 + 2 * residual)
                (wv, cv) = (wv - 0.1 * v.0, cv - 0.1 * v.1)
                #expect(TrainingTests.close(execution.parameter("w")!.scalar!, wv))
                #expect(TrainingTests.close(execution.parameter("c")!.scalar!, cv))
            }
        }
    }

    @Test func boundInputsReadTheCallersMemory() throws {
        let execution = try Self.logistic(features: 3, batch: 2)
        let x: [Double] = [1, 2, 3, -1, 0.5, 0.25]
        try execution.setInput("x", from: x[...])
        try execution.run()
        let copied = execution.gradient(of: "w")!
        let copiedLoss = execution.scalarOutput!
        try execution.setInput("x", .zeros([2, 3]))
        try x.withUnsafeBufferPointer { buffer in
            try execution.bindInput("x", toUnsafeBuffer: buffer)
            #expect(execution.value(of: execution.plan.graph.node(named: "x")!)!.scalars == x)
            try execution.run()
            #expect(execution.gradient(of: "w")!.isBitwiseEqual(to: copied))
            #expect(execution.scalarOutput == copiedLoss)
            #expect(throws: GraphError.notAnInput(node: "w")) {
                try execution.bindInput("w", toUnsafeBuffer: buffer)
            }
            #expect(throws: GraphError.self) {
                try execution.bindInput(
                    "x", toUnsafeBuffer: UnsafeBufferPointer(rebasing: buffer[1...]))
            }
        }
        // Setting the input ends the binding: the execution's own copy again.
        try execution.setInput("x", .zeros([2, 3]))
        try execution.run()
        #expect(execution.gradient(of: "w") == .zeros([3, 1]))
    }

    @Test func bindingErrors() throws {
        let execution = try Self.logistic(features: 4, batch: 2)
        #expect(throws: GraphError.self) { try execution.setInput("x", from: [1, 2, 3][...]) }
        #expect(throws: GraphError.unknownName("z", referencedBy: "inputs")) {
            try execution.setInput("z", from: [1][...])
        }
        let other = try Self.logistic(features: 5, batch: 2)
        #expect(throws: TrainingError.self) { try execution.copyParameters(from: other) }
        let scoring = try Execution(
            plan: Plan(
                try Model<Double>.logisticRegression(features: 4, bias: true).scoringGraph(
                    batch: 3)))
        try scoring.copyParameters(from: execution)
        #expect(scoring.parameters == execution.parameters)
    }
}
