import Backprop

/// S5 small-mlp, ready to train epoch after epoch: the model's training
/// plan (Adam) compiled once, an execution of it, a ``Trainer`` and the
/// data set in float32.
///
/// ```swift
/// let s5 = try SmallMLPTraining(runtime: runtime)
/// let loss = try s5.epoch(on: runtime)     // 24 steps from the initial weights
/// ```
///
/// Note [S5 epochs start afresh]
/// workloads.md reports S5's "mean loss of the last epoch's minibatches";
/// the figure is the median over several epochs after a warm-up one. Were
/// the epochs to continue each other, that loss would depend on how many
/// were run (`--repetitions`), and no two systems run with other
/// repetition counts could be compared. So every epoch here — as every
/// epoch of S4 — starts from S5's initial weights with Adam's moments and
/// step count at zero (``restart()``, untimed, allocation-free): each
/// epoch takes the same 24 steps, and the check value is the mean loss of
/// those steps. The peers (Benchmarks/peers) do the same.
public final class SmallMLPTraining {
    /// The execution trained: parameters `W1 b1 W2 b2 W3 b3`, inputs `x` and `y`.
    public let execution: Execution<Float>
    /// The samples, row-major `[1536][2]`.
    public let samples: [Float]
    /// The labels, class indices 0…2 as floats.
    public let labels: [Float]
    /// The steps of one epoch (24).
    public let stepsPerEpoch: Int
    var trainer: Trainer<Float>
    /// The parameters' initial values, by name, in the model's order.
    let initialValues: [(name: String, scalars: [Float])]

    /// Builds S5's training graph, compiles it with Adam and makes an
    /// execution on `runtime` (its buffers placed for it).
    ///
    /// - Parameters:
    ///   - runtime: The workers the epochs will run on.
    ///   - samples: How many samples (S5: 1,536; a multiple of 64).
    /// - Throws: What ``Plan``, ``Execution`` or ``Trainer`` throw.
    public init(runtime: Runtime = .shared, samples: Int = Workloads.smallMLPSamples) throws {
        let model = Workloads.smallMLPModel()
        let batch = Workloads.smallMLPBatch
        let plan = Plan(
            try model.trainingGraph(batch: batch),
            options: PlanOptions(optimizer: Workloads.smallMLPOptimizer))
        execution = try Execution(plan: plan, runtime: runtime)
        trainer = try Trainer(execution: execution, batchSize: batch)
        let data = Workloads.smallMLPData(samples: samples)
        self.samples = data.x.map { Float($0) }
        self.labels = data.labels.map { Float($0) }
        stepsPerEpoch = try trainer.stepsPerEpoch(samples: self.samples, labels: self.labels)
        initialValues = zip(model.parameterNames, model.initialValues).map {
            ($0, $1.scalars)
        }
    }

    /// Puts the parameters back to S5's initial weights and zeroes Adam's
    /// moments and step count (Note [S5 epochs start afresh]).
    /// Allocation-free.
    public func restart() throws {
        for (name, scalars) in initialValues {
            try scalars.withUnsafeBufferPointer { try execution.setInput(name, from: $0) }
        }
        execution.resetOptimizerState()
    }

    /// Trains one epoch — 24 Adam steps over the samples in order — from
    /// the parameters as they are, and returns the mean of its minibatch
    /// losses. Call ``restart()`` first for S5's epoch. Allocation-free
    /// after the first epoch.
    ///
    /// - Parameters:
    ///   - runtime: The workers that run the steps.
    ///   - onStep: Called after each step (see ``Trainer/epoch(samples:labels:on:onStep:)``).
    /// - Returns: The mean minibatch loss, summed in minibatch order in `Double`.
    @discardableResult
    public func epoch(
        on runtime: Runtime = .shared, onStep: (Trainer<Float>.Step) throws -> Void = { _ in }
    ) throws -> Double {
        try trainer.epoch(samples: samples, labels: labels, on: runtime, onStep: onStep)
    }
}
