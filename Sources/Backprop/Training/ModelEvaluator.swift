/// The mean loss and the accuracy of a ``Model`` over a whole data set, in
/// forward-only batches, with the parameters of a training execution.
///
/// ```swift
/// let evaluator = try ModelEvaluator(model: model, batch: 4096)
/// let (loss, accuracy) = try evaluator.evaluate(
///     parametersFrom: execution, x: data.x, y: data.y, on: runtime)
/// ```
///
/// Each batch runs one forward pass of a graph that puts every example's
/// loss next to its scores (the model's own ops, compiled without
/// gradients). The loss is the mean of the per-example losses, summed in
/// example order in `Double`; the accuracy is the share of examples whose
/// predicted class (``Model/predictedClass(scores:)``) is the target.
/// Plans are compiled once per batch size (the full batch, and the
/// remainder when the data set is not a multiple of it).
public final class ModelEvaluator<Element: TensorElement> {
    /// The model evaluated.
    public let model: Model<Element>
    /// Examples per forward pass.
    public let batch: Int
    private let options: PlanOptions
    private var executions: [Int: Execution<Element>] = [:]

    /// An evaluator running batches of `batch` examples.
    ///
    /// - Parameter options: Plan options of the forward-only plans
    ///   (`gradients` and `optimizer` are ignored).
    /// - Precondition: `batch` ≥ 1.
    public init(model: Model<Element>, batch: Int = 4096, options: PlanOptions = PlanOptions()) {
        precondition(batch >= 1, "an evaluation batch has at least one example")
        self.model = model
        self.batch = batch
        var forward = options
        forward.gradients = false
        forward.optimizer = nil
        self.options = forward
    }

    /// The mean loss and the accuracy (in [0, 1]) over all examples.
    ///
    /// - Parameters:
    ///   - source: The execution whose parameters are evaluated (its graph
    ///     must have the model's parameters).
    ///   - x: The features, row-major, `features` per example.
    ///   - y: The targets, one per example (0/1, or a class index).
    /// - Throws: ``TrainingError/parameterMismatch(_:)`` when `source` does
    ///   not hold the model's parameters, `GraphError` when `x` and `y`
    ///   disagree on the number of examples, ``ExecutionError`` from the
    ///   passes (a label that is not a class index).
    public func evaluate(
        parametersFrom source: Execution<Element>, x: [Element], y: [Element],
        on runtime: Runtime = .shared
    ) throws -> (loss: Double, accuracy: Double) {
        let n = y.count
        guard x.count == n * model.features, n > 0 else {
            throw GraphError.shapeMismatch(
                node: Model<Element>.inputName,
                message: "\(x.count) feature values for \(n) targets of \(model.features) features")
        }
        var lossSum = 0.0
        var correct = 0
        var start = 0
        while start < n {
            let size = Swift.min(batch, n - start)
            let execution = try self.execution(batch: size, runtime: runtime)
            try execution.copyParameters(from: source)
            let f = model.features
            try execution.setInput(
                Model<Element>.inputName, from: x[(start * f)..<((start + size) * f)])
            try execution.setInput(Model<Element>.targetName, from: y[start..<(start + size)])
            try execution.run(on: runtime)
            let width = 1 + model.outputs
            execution.withOutput { out in
                for i in 0..<size {
                    lossSum += Double(out[i * width])
                    let scores = UnsafeBufferPointer(
                        rebasing: out[(i * width + 1)..<((i + 1) * width)])
                    if model.predictedClass(scores: scores) == Int(y[start + i]) { correct += 1 }
                }
            }
            start += size
        }
        return (lossSum / Double(n), Double(correct) / Double(n))
    }

    private func execution(batch size: Int, runtime: Runtime) throws -> Execution<Element> {
        if let existing = executions[size] { return existing }
        let plan = Plan(try model.evaluationGraph(batch: size), options: options)
        let execution = try Execution(plan: plan, runtime: runtime)
        executions[size] = execution
        return execution
    }
}
