/// A small model — the lecture's logistic regression or a multilayer
/// perceptron — written with ordinary graph ops: a recipe that adds its
/// parameters and ops to a ``GraphBuilder`` and builds training,
/// scoring and evaluation graphs for any batch size. Nothing about it is a
/// special code path: its graphs compile and run like any other.
///
/// ```swift
/// let model = Model<Double>.logisticRegression(features: 256)
/// let plan = Plan(
///     try model.trainingGraph(batch: 64),
///     options: PlanOptions(optimizer: .sgd(learningRate: 0.1)))
/// let execution = try Execution(plan: plan)
/// try execution.setInput(Model<Double>.inputName, from: x[0..<64 * 256])
/// try execution.setInput(Model<Double>.targetName, from: y[0..<64])
/// try execution.step()
/// ```
///
/// Graphs take the features as input ``inputName`` (`x`, shape
/// `[batch, features]`, row-major) and the targets as input ``targetName``
/// (`y`): 0/1 labels of shape `[batch, 1]` for ``Loss/logLoss``, class
/// indices `0..<classes` of shape `[batch]` for
/// ``Loss/softmaxCrossEntropy``. The loss is the mean over the batch.
public struct Model<Element: TensorElement>: Sendable {
    /// The nonlinearity between an MLP's layers.
    public enum Activation: String, Sendable, CaseIterable {
        /// max(x, 0).
        case relu
        /// tanh x.
        case tanh
    }

    /// How the model's scores are compared with the targets.
    public enum Loss: Sendable, Equatable {
        /// Binary log loss of σ(score) against 0/1 targets, built from
        /// `sigmoid_cross_entropy` (stable for any score):
        /// `−y·log σ(z) − (1 − y)·log(1 − σ(z))`.
        case logLoss
        /// Softmax cross-entropy of the scores against class indices,
        /// built from `cross_entropy`: `logsumexp(z) − z[label]`.
        case softmaxCrossEntropy
    }

    /// The features' input name, `x`.
    public static var inputName: String { "x" }
    /// The targets' input name, `y`.
    public static var targetName: String { "y" }

    /// Layer widths: features first, scores last (`[features, 1]` for
    /// logistic regression).
    public let layers: [Int]
    /// The activation between layers (`nil` for a linear model).
    public let activation: Activation?
    /// The loss the training graph computes.
    public let loss: Loss
    /// Whether each layer adds a bias.
    public let hasBias: Bool
    /// The parameters' names, in the order they enter the graph
    /// (`w` and `b`; `W1`, `b1`, `W2`, … for an MLP).
    public let parameterNames: [String]
    /// The parameters' initial values, parallel to ``parameterNames``.
    public let initialValues: [Tensor<Element>]

    /// The number of features per example.
    public var features: Int { layers[0] }
    /// The number of scores per example (1 for logistic regression, the
    /// number of classes for an MLP).
    public var outputs: Int { layers[layers.count - 1] }

    /// The lecture's logistic regression: `f_w(x) = σ(w·x)` (plus `b`
    /// with `bias`), trained with the log loss. Parameters `w` (shape
    /// `[features, 1]`) and `b` (`[1]`) start at 0.
    ///
    /// - Precondition: `features` ≥ 1.
    public static func logisticRegression(features: Int, bias: Bool = false) -> Model {
        precondition(features >= 1, "a model needs at least one feature")
        return Model(
            layers: [features, 1], activation: nil, loss: .logLoss, hasBias: bias,
            parameterNames: bias ? ["w", "b"] : ["w"],
            initialValues: [.zeros([features, 1])] + (bias ? [.zeros([1])] : []))
    }

    /// A multilayer perceptron `layers[0] → … → layers.last` with
    /// `activation` between layers, trained with softmax cross-entropy over
    /// `layers.last` classes.
    ///
    /// Weights `W_l[i][j] = (u − 0.5) · 2 / √fan_in` with u drawn
    /// uniformly in [0, 1) from the workloads' LCG seeded with `seed`,
    /// layer by layer, row by row (S2's initialisation: seed 7 and
    /// `[784, 512, 512, 10]` give S2's weights); biases 0. Parameters
    /// `W1, b1, W2, b2, …`.
    ///
    /// - Precondition: at least two layers, every width ≥ 1, at least 2 classes.
    public static func mlp(layers: [Int], activation: Activation = .relu, seed: UInt64 = 1)
        -> Model
    {
        precondition(layers.count >= 2, "an MLP needs at least an input and an output layer")
        precondition(layers.allSatisfy { $0 >= 1 }, "layer widths must be at least 1")
        precondition(layers[layers.count - 1] >= 2, "an MLP classifies at least 2 classes")
        var generator = WorkloadGenerator(seed: seed)
        func unit() -> Double { generator.unit() }
        var names: [String] = []
        var values: [Tensor<Element>] = []
        for l in 0..<(layers.count - 1) {
            let (fanIn, fanOut) = (layers[l], layers[l + 1])
            let scale = 2 / Double(fanIn).squareRoot()
            let weights = (0..<(fanIn * fanOut)).map { _ in Element((unit() - 0.5) * scale) }
            names += ["W\(l + 1)", "b\(l + 1)"]
            values += [
                Tensor(uncheckedShape: [fanIn, fanOut], scalars: weights), .zeros([fanOut]),
            ]
        }
        return Model(
            layers: layers, activation: activation, loss: .softmaxCrossEntropy, hasBias: true,
            parameterNames: names, initialValues: values)
    }

    // MARK: Building graphs

    /// Adds the model's parameters and layers to `x`'s builder and returns
    /// the scores (logits), shape `[batch, outputs]`. Call it once per
    /// builder: parameter names must be unique.
    public func scores(_ x: Node<Element>) -> Node<Element> {
        let builder = x.builder
        var h = x
        var k = 0
        for l in 0..<(layers.count - 1) {
            let w = builder.parameter(parameterNames[k], initialValues[k])
            k += 1
            h = h.matmul(w)
            if hasBias {
                h = h + builder.parameter(parameterNames[k], initialValues[k])
                k += 1
            }
            if l < layers.count - 2, let activation {
                h = activation == .relu ? h.relu() : h.tanh()
            }
        }
        return h
    }

    /// The per-example loss of `scores` against `targets`: shape
    /// `[batch, 1]` for either loss.
    public func exampleLosses(scores: Node<Element>, targets: Node<Element>, batch: Int)
        -> Node<Element>
    {
        switch loss {
        case .logLoss: sigmoidCrossEntropy(logits: scores, targets: targets)
        case .softmaxCrossEntropy:
            crossEntropy(logits: scores, labels: targets).reshaped([batch, 1])
        }
    }

    /// The shape of a batch's targets: `[batch, 1]` (log loss) or `[batch]`.
    public func targetShape(batch: Int) -> Shape {
        loss == .logLoss ? [batch, 1] : [batch]
    }

    /// The training graph: inputs `x` and `y` (no defaults: feed them),
    /// the parameters, and the mean loss over the batch as the output.
    ///
    /// - Throws: ``GraphError`` (for example a batch below 1).
    public func trainingGraph(batch: Int) throws(GraphError) -> Graph<Element> {
        let b = GraphBuilder<Element>()
        let x = b.input(Self.inputName, shape: [batch, features])
        let y = b.input(Self.targetName, shape: targetShape(batch: batch))
        let s = scores(x)
        return try b.build(output: exampleLosses(scores: s, targets: y, batch: batch).mean())
    }

    /// The scoring graph: input `x` and the parameters; the output is the
    /// scores, `[batch, outputs]` (for logistic regression, the logit
    /// `w·x`: σ of it is the probability of class 1).
    ///
    /// - Throws: ``GraphError``.
    public func scoringGraph(batch: Int) throws(GraphError) -> Graph<Element> {
        let b = GraphBuilder<Element>()
        return try b.build(output: scores(b.input(Self.inputName, shape: [batch, features])))
    }

    /// The evaluation graph: the per-example loss next to the scores, shape
    /// `[batch, 1 + outputs]` — one forward pass gives loss and accuracy.
    func evaluationGraph(batch: Int) throws(GraphError) -> Graph<Element> {
        let b = GraphBuilder<Element>()
        let x = b.input(Self.inputName, shape: [batch, features])
        let y = b.input(Self.targetName, shape: targetShape(batch: batch))
        let s = scores(x)
        return try b.build(
            output: concat([exampleLosses(scores: s, targets: y, batch: batch), s], axis: 1))
    }

    // MARK: Predictions

    /// The class a row of scores predicts: 1 when the logit is positive
    /// (σ > ½) for log loss, else the index of the largest score (the
    /// first, on ties).
    public func predictedClass(scores: UnsafeBufferPointer<Element>) -> Int {
        if loss == .logLoss { return scores[0] > 0 ? 1 : 0 }
        var best = 0
        for k in 1..<scores.count where scores[k] > scores[best] { best = k }
        return best
    }
}
