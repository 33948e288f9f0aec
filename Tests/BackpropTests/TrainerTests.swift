import AllocationCounter
import BackpropWorkloads
import Testing

@testable import Backprop

/// The minibatch loop (`Trainer`): the same bits as a hand-written loop,
/// what the step callback sees, allocation-free epochs, and a typed error —
/// never a trap — for every execution or data set it cannot train on.
@Suite struct TrainerTests {
    /// A logistic-regression execution on `features` features, batch `batch`.
    static func logistic(
        features: Int = 16, batch: Int = 32, optimizer: Optimizer = .sgd(learningRate: 0.1),
        options: PlanOptions = TrainingTests.fine
    ) throws -> Execution<Double> {
        var options = options
        options.optimizer = optimizer
        let model = Model<Double>.logisticRegression(features: features)
        return try Execution(plan: Plan(try model.trainingGraph(batch: batch), options: options))
    }

    /// An MLP execution (float32, softmax cross-entropy, Adam).
    static func mlp(batch: Int = 32) throws -> Execution<Float> {
        var options = TrainingTests.fine
        options.optimizer = .adam(learningRate: 0.01)
        let model = Model<Float>.mlp(layers: [2, 16, 3], seed: 3)
        return try Execution(plan: Plan(try model.trainingGraph(batch: batch), options: options))
    }

    /// The loop written out by hand, copying each minibatch in (one label
    /// per row): each epoch's mean minibatch loss.
    static func handWritten<T: TensorElement>(
        _ execution: Execution<T>, x: [T], y: [T], batch: Int, epochs: Int, runtime: Runtime
    ) throws -> [Double] {
        let features = x.count / y.count
        let batches = y.count / batch
        var means: [Double] = []
        for _ in 0..<epochs {
            var sum = 0.0
            for b in 0..<batches {
                try execution.setInput(
                    "x", from: x[(b * batch * features)..<((b + 1) * batch * features)])
                try execution.setInput("y", from: y[(b * batch)..<((b + 1) * batch)])
                try execution.step(on: runtime)
                sum += Double(execution.scalarOutput!)
            }
            means.append(sum / Double(batches))
        }
        return means
    }

    static func bitwiseEqualParameters<T>(_ a: Execution<T>, _ b: Execution<T>) -> Bool {
        a.parameterNames.allSatisfy { a.parameter($0)!.isBitwiseEqual(to: b.parameter($0)!) }
    }

    // MARK: Values

    @Test(arguments: [1, 2])
    func logisticRegressionMatchesAHandWrittenLoop(threads: Int) throws {
        let runtime = Runtime(threads: threads)
        let data = Workloads.logisticData(samples: 512, features: 16, seed: 4)
        let (trained, byHand) = (try Self.logistic(), try Self.logistic())
        var trainer = try Trainer(execution: trained, batchSize: 32)
        let losses = try trainer.train(samples: data.x, labels: data.y, epochs: 3, on: runtime)
        let expected = try Self.handWritten(
            byHand, x: data.x, y: data.y, batch: 32, epochs: 3, runtime: runtime)
        #expect(losses == expected)
        #expect(Self.bitwiseEqualParameters(trained, byHand))
        #expect(trained.stepCount == 48 && trainer.epochsCompleted == 3)
        // The loss falls.
        #expect(losses[2] < losses[0])
    }

    @Test func mlpWithAdamMatchesAHandWrittenLoop() throws {
        let runtime = Runtime(threads: 2)
        let data = Workloads.spirals(classes: 3, samplesPerClass: 64)
        let (x, y) = (data.x.map(Float.init), data.labels.map(Float.init))
        let (trained, byHand) = (try Self.mlp(), try Self.mlp())
        var trainer = try Trainer(execution: trained, batchSize: 32)
        let losses = try trainer.train(samples: x, labels: y, epochs: 2, on: runtime)
        let expected = try Self.handWritten(
            byHand, x: x, y: y, batch: 32, epochs: 2, runtime: runtime)
        #expect(losses == expected)
        #expect(Self.bitwiseEqualParameters(trained, byHand))
    }

    /// With `.drop`, the rows after the last whole minibatch are left out.
    @Test func droppingThePartialBatchMatchesAHandWrittenLoop() throws {
        let runtime = Runtime(threads: 1)
        let data = Workloads.logisticData(samples: 500, features: 16, seed: 9)
        let (trained, byHand) = (try Self.logistic(), try Self.logistic())
        var trainer = try Trainer(execution: trained, batchSize: 32, partialBatch: .drop)
        #expect(try trainer.stepsPerEpoch(samples: data.x, labels: data.y) == 15)
        let loss = try trainer.epoch(samples: data.x, labels: data.y, on: runtime)
        let kept = 15 * 32
        let expected = try Self.handWritten(
            byHand, x: Array(data.x[..<(kept * 16)]), y: Array(data.y[..<kept]), batch: 32,
            epochs: 1, runtime: runtime)
        #expect([loss] == expected)
        #expect(Self.bitwiseEqualParameters(trained, byHand))
        #expect(trained.stepCount == 15)
    }

    /// The callback sees every step in order; its losses average to the
    /// epoch's mean; an error it throws ends the epoch there.
    @Test func stepCallback() throws {
        let data = Workloads.logisticData(samples: 128, features: 16, seed: 2)
        let execution = try Self.logistic()
        var trainer = try Trainer(execution: execution, batchSize: 32)
        var seen: [Trainer<Double>.Step] = []
        let losses = try trainer.train(samples: data.x, labels: data.y, epochs: 2) {
            seen.append($0)
        }
        #expect(seen.map(\.epoch) == [1, 1, 1, 1, 2, 2, 2, 2])
        #expect(seen.map(\.batch) == [1, 2, 3, 4, 1, 2, 3, 4])
        #expect(seen.allSatisfy { $0.batches == 4 })
        #expect(losses[0] == seen[0..<4].reduce(0.0) { $0 + $1.loss } / 4)

        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try trainer.epoch(samples: data.x, labels: data.y) { step in
                if step.batch == 2 { throw Stop() }
            }
        }
        #expect(execution.stepCount == 10 && trainer.epochsCompleted == 2)
    }

    /// An epoch ends its bindings: the execution then holds its own copy of
    /// the last minibatch, and a run reads that.
    @Test func anEpochLeavesTheLastMinibatchCopiedIn() throws {
        let data = Workloads.logisticData(samples: 96, features: 16, seed: 6)
        let execution = try Self.logistic()
        var trainer = try Trainer(execution: execution, batchSize: 32)
        try trainer.epoch(samples: data.x, labels: data.y)
        #expect(execution.boundOffsets.isEmpty)
        try execution.run()
        let after = execution.scalarOutput!
        try execution.setInput("x", from: data.x[(64 * 16)...])
        try execution.setInput("y", from: data.y[64...])
        try execution.run()
        #expect(execution.scalarOutput! == after)
    }

    // MARK: Allocations

    /// After the first epoch, an epoch allocates nothing on the calling
    /// thread (-1: counting unsupported here; see Tests/AllocationCounter).
    @Test(arguments: [1, 2])
    func epochsAllocateNothing(threads: Int) throws {
        let runtime = Runtime(threads: threads)
        let data = Workloads.logisticData(samples: 256, features: 16, seed: 5)
        var trainer = try Trainer(execution: try Self.logistic(), batchSize: 32)
        try trainer.epoch(samples: data.x, labels: data.y, on: runtime)
        var steps = 0
        allocation_counter_begin()
        let loss = try trainer.epoch(samples: data.x, labels: data.y, on: runtime) { _ in
            steps += 1
        }
        let allocations = allocation_counter_end()
        #expect(allocations == 0 || allocations == -1, "\(allocations) allocations in an epoch")
        #expect(steps == 8 && loss.isFinite)
    }

    // MARK: Errors

    @Test(arguments: [
        (32, "x", "y", TrainerError.invalidBatchSize(0), 0),
        (32, "x", "x", .sameInput("x"), 32),
        (32, "features", "y", .unknownInput("features"), 32),
        (32, "x", "labels", .unknownInput("labels"), 32),
        (32, "w", "y", .notAnInput("w"), 32),
        (32, "x", "y", .batchShapeMismatch(input: "x", shape: [32, 16], batchSize: 16), 16),
    ])
    func executionsItCannotTrain(
        planBatch: Int, sampleInput: String, labelInput: String, error: TrainerError,
        batchSize: Int
    ) throws {
        let execution = try Self.logistic(batch: planBatch)
        #expect(throws: error) {
            try Trainer(
                execution: execution, batchSize: batchSize, sampleInput: sampleInput,
                labelInput: labelInput)
        }
    }

    @Test func aLossThatIsNotAScalar() throws {
        let b = GraphBuilder<Double>()
        let x = b.input("x", shape: [4, 2])
        let y = b.input("y", shape: [4, 1])
        let w = b.parameter("w", .zeros([2, 1]))
        let execution = try Execution(plan: Plan(try b.build(output: x.matmul(w) - y)))
        #expect(throws: TrainerError.lossNotScalar(shape: [4, 1])) {
            try Trainer(execution: execution, batchSize: 4)
        }
    }

    /// Data that do not fit are refused before any step.
    @Test(arguments: [
        (100, 100, TrainerError.partialBatch(samples: 100, batchSize: 32)),
        (20, 20, .noCompleteBatch(samples: 20, batchSize: 32)),
        (0, 0, .noCompleteBatch(samples: 0, batchSize: 32)),
        (64, 63, .sampleCountMismatch(samples: 64, labels: 63)),
    ])
    func dataItCannotTrainOn(samples: Int, labels: Int, error: TrainerError) throws {
        let execution = try Self.logistic()
        var trainer = try Trainer(execution: execution, batchSize: 32)
        let x = [Double](repeating: 0.5, count: samples * 16)
        let y = [Double](repeating: 1, count: labels)
        #expect(throws: error) { try trainer.epoch(samples: x, labels: y) }
        #expect(throws: error) { try trainer.train(samples: x, labels: y, epochs: 2) }
        #expect(throws: error) { try trainer.stepsPerEpoch(samples: x, labels: y) }
        #expect(execution.stepCount == 0 && trainer.epochsCompleted == 0)
    }

    @Test func samplesThatAreNotWholeRows() throws {
        var trainer = try Trainer(execution: try Self.logistic(), batchSize: 32)
        let y = [Double](repeating: 0, count: 32)
        #expect(throws: TrainerError.dataSize(input: "x", elements: 33 * 15, rowWidth: 16)) {
            try trainer.epoch(samples: [Double](repeating: 0, count: 33 * 15), labels: y)
        }
        #expect(throws: TrainerError.invalidEpochCount(-1)) {
            try trainer.train(
                samples: [Double](repeating: 0, count: 32 * 16), labels: y, epochs: -1)
        }
        #expect(
            try trainer.train(samples: [Double](repeating: 0, count: 32 * 16), labels: y, epochs: 0)
                == [])
    }

    @Test func errorsDescribeThemselves() {
        #expect(
            TrainerError.partialBatch(samples: 100, batchSize: 32).description
                == "the batch size 32 does not divide the 100 samples (4 left over; "
                + "drop them with partialBatch: .drop)")
        #expect(TrainerError.unknownInput("z").description == "the graph has no input 'z'")
    }
}
