/// The minibatch loop: walks a data set held in memory in minibatches, in
/// order, and takes one training step per minibatch on an execution.
///
/// A trainer binds each minibatch's rows of the samples and of the labels
/// to the training graph's two data inputs, in place
/// (``Execution/bindInput(_:toUnsafeBuffer:)``: nothing is copied), runs
/// ``Execution/step(on:)`` — forward, backward and the optimizer's update in
/// one pass of the workers — and reads the minibatch loss. An epoch returns
/// the mean of its minibatch losses, summed in minibatch order in `Double`.
///
/// ```swift
/// let model = Model<Double>.logisticRegression(features: 256)
/// let plan = Plan(
///     try model.trainingGraph(batch: 64),
///     options: PlanOptions(optimizer: .sgd(learningRate: 0.1)))
/// var trainer = try Trainer(execution: try Execution(plan: plan), batchSize: 64)
/// let losses = try trainer.train(samples: data.x, labels: data.y, epochs: 3) { step in
///     if step.batch % 100 == 0 { print("epoch \(step.epoch), batch \(step.batch): \(step.loss)") }
/// }
/// print(losses)                                   // the mean minibatch loss of each epoch
/// print(trainer.execution.parameter("w")!)        // the trained weights
/// ```
///
/// The data are row-major: row i of the samples is the `i`th sample's
/// features, row i of the labels its target, and minibatch b is rows
/// `b·batchSize ..< (b + 1)·batchSize` of both. A row's width is the
/// input's element count divided by the batch size (`x` `[64, 256]`: 256
/// features; `y` `[64, 1]` or `[64]`: one label). Minibatches are taken in
/// order, never shuffled: shuffle the data set itself if you want that, so
/// that a run is reproducible from its data alone. The steps are those of
/// the execution, so the trained parameters are bitwise identical for any
/// thread count, and bitwise identical to a hand-written loop that binds or
/// copies the same rows and steps.
///
/// After the first step an epoch allocates nothing (custom ops aside), as
/// the step itself does. When an epoch ends — finished or not — the trainer
/// copies the minibatch it last bound into the execution
/// (``Execution/setInput(_:from:)-(_,UnsafeBufferPointer<Element>)``), which
/// ends the bindings: the execution never keeps a pointer into the caller's
/// arrays.
///
/// This is the loop of `backprop train` and of `backprop bench`'s S4; it
/// reads a data set of any size in place, with the plan compiled once.
public struct Trainer<Element: TensorElement> {
    /// What the per-step callback sees after each step.
    public struct Step: Sendable, Equatable {
        /// The epoch, counted from 1 over this trainer's epochs.
        public var epoch: Int
        /// The minibatch just trained on, from 1 to ``batches``.
        public var batch: Int
        /// The minibatches (steps) of the epoch.
        public var batches: Int
        /// The minibatch's loss, at the parameters before this step's update.
        public var loss: Double
    }

    /// What an epoch does with the rows left over when the batch size does
    /// not divide the number of samples.
    public enum PartialBatch: Sendable, Equatable {
        /// Refuse such a data set: ``TrainerError/partialBatch(samples:batchSize:)``.
        case reject
        /// Leave the last `samples mod batchSize` rows out of every epoch.
        case drop
    }

    /// The execution trained: its plan must have an optimizer and a scalar loss.
    public let execution: Execution<Element>
    /// Rows per minibatch: the leading dimension of both data inputs.
    public let batchSize: Int
    /// The name of the input that takes the samples' rows.
    public let sampleInput: String
    /// The name of the input that takes the labels' rows.
    public let labelInput: String
    /// What an epoch does with a last, partial minibatch.
    public let partialBatch: PartialBatch
    /// The epochs this trainer has finished.
    public private(set) var epochsCompleted = 0
    /// Elements per row of the samples and of the labels.
    let sampleWidth: Int
    let labelWidth: Int
    /// The two inputs' nodes, resolved once (each step binds them).
    let sampleNode: NodeID
    let labelNode: NodeID

    /// A trainer for `execution`, checked against its graph: both inputs
    /// exist, are inputs (not parameters), have `batchSize` rows, and the
    /// output (the loss) is a scalar.
    ///
    /// - Parameters:
    ///   - execution: An execution of a training plan (one compiled with
    ///     ``PlanOptions/optimizer``); a plan without an optimizer fails at
    ///     the first step with ``TrainingError/notTraining``.
    ///   - batchSize: Rows per minibatch, at least 1.
    ///   - sampleInput: The input node that takes the samples (``Model``'s `x`).
    ///   - labelInput: The input node that takes the labels (``Model``'s `y`).
    ///   - partialBatch: What to do when `batchSize` does not divide the
    ///     number of samples (default: refuse the data set).
    /// - Throws: ``TrainerError`` (nothing else): `invalidBatchSize`,
    ///   `sameInput`, `unknownInput`, `notAnInput`, `batchShapeMismatch`,
    ///   `lossNotScalar`.
    public init(
        execution: Execution<Element>, batchSize: Int,
        sampleInput: String = Model<Element>.inputName,
        labelInput: String = Model<Element>.targetName,
        partialBatch: PartialBatch = .reject
    ) throws(TrainerError) {
        guard batchSize >= 1 else { throw .invalidBatchSize(batchSize) }
        guard sampleInput != labelInput else { throw .sameInput(sampleInput) }
        let graph = execution.plan.graph
        func rowWidth(_ name: String) throws(TrainerError) -> (NodeID, Int) {
            guard let node = graph.node(named: name) else { throw .unknownInput(name) }
            guard case .input = graph.op(of: node) else { throw .notAnInput(name) }
            let shape = graph.shape(of: node)
            guard shape.rank >= 1, shape.dimensions[0] == batchSize else {
                throw .batchShapeMismatch(input: name, shape: shape, batchSize: batchSize)
            }
            return (node, shape.count / batchSize)
        }
        (sampleNode, sampleWidth) = try rowWidth(sampleInput)
        (labelNode, labelWidth) = try rowWidth(labelInput)
        let lossShape = graph.shape(of: graph.output)
        guard lossShape.count == 1 else { throw .lossNotScalar(shape: lossShape) }
        self.execution = execution
        self.batchSize = batchSize
        self.sampleInput = sampleInput
        self.labelInput = labelInput
        self.partialBatch = partialBatch
    }

    /// The steps one epoch over these arrays takes: the number of whole
    /// minibatches in them.
    ///
    /// - Parameters:
    ///   - samples: The samples, row-major.
    ///   - labels: The labels, row-major.
    /// - Returns: `samples / batchSize` (rows), at least 1.
    /// - Throws: ``TrainerError/dataSize(input:elements:rowWidth:)`` when an
    ///   array is not a whole number of rows,
    ///   ``TrainerError/sampleCountMismatch(samples:labels:)``,
    ///   ``TrainerError/partialBatch(samples:batchSize:)`` (with
    ///   ``PartialBatch/reject``), ``TrainerError/noCompleteBatch(samples:batchSize:)``.
    public func stepsPerEpoch(samples: [Element], labels: [Element]) throws(TrainerError) -> Int {
        guard samples.count % sampleWidth == 0 else {
            throw .dataSize(input: sampleInput, elements: samples.count, rowWidth: sampleWidth)
        }
        guard labels.count % labelWidth == 0 else {
            throw .dataSize(input: labelInput, elements: labels.count, rowWidth: labelWidth)
        }
        let rows = samples.count / sampleWidth
        guard labels.count / labelWidth == rows else {
            throw .sampleCountMismatch(samples: rows, labels: labels.count / labelWidth)
        }
        guard rows >= batchSize else { throw .noCompleteBatch(samples: rows, batchSize: batchSize) }
        guard partialBatch == .drop || rows % batchSize == 0 else {
            throw .partialBatch(samples: rows, batchSize: batchSize)
        }
        return rows / batchSize
    }

    /// Trains one epoch: a step on each whole minibatch, in order.
    ///
    /// - Parameters:
    ///   - samples: The samples, row-major (`sampleInput`'s row width each).
    ///   - labels: The labels, row-major, as many rows as the samples.
    ///   - runtime: The workers that run the steps.
    ///   - onStep: Called after each step with its loss (say, for a
    ///     progress display). An error it throws ends the epoch there and
    ///     is rethrown; the steps taken stand.
    /// - Returns: The mean of the epoch's minibatch losses.
    /// - Throws: ``TrainerError`` for data that do not fit (before any
    ///   step, see ``stepsPerEpoch(samples:labels:)``); otherwise what
    ///   ``Execution/step(on:)`` throws (``TrainingError``,
    ///   ``ExecutionError``) or `onStep` throws. A failed step leaves the
    ///   parameters as the previous step left them.
    /// - Complexity: One step per minibatch; nothing allocated after the
    ///   execution's first step.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    @discardableResult
    public mutating func epoch(
        samples: [Element], labels: [Element], on runtime: Runtime = .shared,
        onStep: (Step) throws -> Void = { _ in }
    ) throws -> Double {
        let batches = try stepsPerEpoch(samples: samples, labels: labels)
        let epoch = epochsCompleted + 1
        let (xCount, yCount) = (batchSize * sampleWidth, batchSize * labelWidth)
        var lossSum = 0.0
        try samples.withUnsafeBufferPointer { xs in
            try labels.withUnsafeBufferPointer { ys in
                var bound: (x: UnsafeBufferPointer<Element>, y: UnsafeBufferPointer<Element>)?
                defer {
                    // End the bindings (cannot fail: names and sizes were checked).
                    if let bound {
                        try? execution.setInput(sampleInput, from: bound.x)
                        try? execution.setInput(labelInput, from: bound.y)
                    }
                }
                for b in 0..<batches {
                    let x = UnsafeBufferPointer(rebasing: xs[(b * xCount)..<((b + 1) * xCount)])
                    let y = UnsafeBufferPointer(rebasing: ys[(b * yCount)..<((b + 1) * yCount)])
                    bound = (x, y)
                    try bind(x, y)
                    try execution.step(on: runtime)
                    let loss = Double(execution.scalarOutput!)
                    lossSum += loss
                    try onStep(Step(epoch: epoch, batch: b + 1, batches: batches, loss: loss))
                }
            }
        }
        epochsCompleted += 1
        return lossSum / Double(batches)
    }

    /// Binds one minibatch's rows to the two inputs: checked once at init
    /// (inputs, shapes) and here (sizes), then bound without looking the
    /// names up again; a scalar tape copies them instead.
    private func bind(
        _ x: UnsafeBufferPointer<Element>, _ y: UnsafeBufferPointer<Element>
    ) throws(GraphError) {
        guard execution.plan.tables.tape == nil, let xs = x.baseAddress, let ys = y.baseAddress,
            x.count == batchSize * sampleWidth, y.count == batchSize * labelWidth
        else {
            try execution.bindInput(sampleInput, toUnsafeBuffer: x)
            try execution.bindInput(labelInput, toUnsafeBuffer: y)
            return
        }
        execution.bind(sampleNode, to: xs)
        execution.bind(labelNode, to: ys)
    }

    /// Trains `epochs` epochs (see ``epoch(samples:labels:on:onStep:)``).
    ///
    /// - Parameters:
    ///   - samples: The samples, row-major.
    ///   - labels: The labels, row-major, as many rows as the samples.
    ///   - epochs: Passes over the data, 0 or more.
    ///   - runtime: The workers that run the steps.
    ///   - onStep: Called after each step.
    /// - Returns: Each epoch's mean minibatch loss, in order.
    /// - Throws: ``TrainerError/invalidEpochCount(_:)`` for a negative
    ///   count, and what ``epoch(samples:labels:on:onStep:)`` throws: the
    ///   epochs finished before an error stand.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public mutating func train(
        samples: [Element], labels: [Element], epochs: Int, on runtime: Runtime = .shared,
        onStep: (Step) throws -> Void = { _ in }
    ) throws -> [Double] {
        guard epochs >= 0 else { throw TrainerError.invalidEpochCount(epochs) }
        var losses: [Double] = []
        losses.reserveCapacity(epochs)
        for _ in 0..<epochs {
            losses.append(try epoch(samples: samples, labels: labels, on: runtime, onStep: onStep))
        }
        return losses
    }
}

/// Why a ``Trainer`` refused an execution or a data set. Every check is made
/// before the first step: a refused epoch changes nothing.
public enum TrainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A batch size below 1.
    case invalidBatchSize(Int)
    /// A negative number of epochs.
    case invalidEpochCount(Int)
    /// The samples and the labels were given the same input.
    case sameInput(String)
    /// The graph has no node of this name.
    case unknownInput(String)
    /// The node is not an input (a parameter, a constant, an op).
    case notAnInput(String)
    /// The input's leading dimension is not the batch size (or it is a scalar).
    case batchShapeMismatch(input: String, shape: Shape, batchSize: Int)
    /// The graph's output, the loss, is not a single element.
    case lossNotScalar(shape: Shape)
    /// An array's element count is not a multiple of its input's row width.
    case dataSize(input: String, elements: Int, rowWidth: Int)
    /// The samples and the labels have different numbers of rows.
    case sampleCountMismatch(samples: Int, labels: Int)
    /// The batch size does not divide the number of samples (with
    /// ``Trainer/PartialBatch/reject``).
    case partialBatch(samples: Int, batchSize: Int)
    /// Fewer samples than one minibatch.
    case noCompleteBatch(samples: Int, batchSize: Int)

    public var description: String {
        switch self {
        case .invalidBatchSize(let size): "the batch size must be at least 1, got \(size)"
        case .invalidEpochCount(let count):
            "the number of epochs must not be negative, got \(count)"
        case .sameInput(let name): "the samples and the labels both go to input '\(name)'"
        case .unknownInput(let name): "the graph has no input '\(name)'"
        case .notAnInput(let name): "node '\(name)' is not an input"
        case .batchShapeMismatch(let name, let shape, let batchSize):
            "input '\(name)' has shape \(shape), not \(batchSize) rows (the batch size)"
        case .lossNotScalar(let shape):
            "the graph's output (the loss) has shape \(shape); training needs a scalar loss"
        case .dataSize(let name, let elements, let width):
            "\(elements) elements for input '\(name)' are not whole rows of \(width)"
        case .sampleCountMismatch(let samples, let labels):
            "\(samples) samples but \(labels) labels"
        case .partialBatch(let samples, let batchSize):
            "the batch size \(batchSize) does not divide the \(samples) samples "
                + "(\(samples % batchSize) left over; drop them with partialBatch: .drop)"
        case .noCompleteBatch(let samples, let batchSize):
            "\(samples) samples do not fill one batch of \(batchSize)"
        }
    }
}
