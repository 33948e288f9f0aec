/// softmax, log-softmax and the losses built on them, each computed stably
/// (see `Losses.swift` for the formulas).
///
/// ```swift
/// let b = GraphBuilder<Float>()
/// let z = b.input("z", shape: [4, 10])
/// let p = b.apply(.loss(.softmax(axis: -1)), [z])
/// ```
public enum LossOp: Sendable, Hashable {
    /// softmax along `axis`, computed stably (max subtracted).
    /// VJP: y ⊙ (g − Σ g⊙y).
    case softmax(axis: Int)
    /// log softmax along `axis`, computed stably (log-sum-exp).
    /// VJP: g − softmax(x) · Σ g.
    case logSoftmax(axis: Int)
    /// Per-example cross-entropy of logits (classes on the last axis) with
    /// integer class labels: `logsumexp(z) − z[label]`. Parents: logits,
    /// labels. VJP: g · (softmax(z) − onehot(label)); none to the labels.
    case crossEntropy
    /// Elementwise binary log loss from logits, stable for any logit:
    /// `max(z, 0) − z·y + log(1 + e^−|z|)`. Parents: logits, targets (which
    /// broadcast). VJP: (g · (σ(z) − y), −g · z).
    case sigmoidCrossEntropy

    /// The op's catalog entry.
    var kind: OpKind {
        switch self {
        case .softmax: .softmax
        case .logSoftmax: .logSoftmax
        case .crossEntropy: .crossEntropy
        case .sigmoidCrossEntropy: .sigmoidCrossEntropy
        }
    }

    /// How many parents the op takes.
    var arity: Arity {
        switch self {
        case .softmax, .logSoftmax: .exactly(1)
        case .crossEntropy, .sigmoidCrossEntropy: .exactly(2)
        }
    }

    /// The output shape for the parents' shapes.
    func outputShape(_ s: [Shape]) throws(ShapeRuleError) -> Shape {
        switch self {
        case .softmax(let axis), .logSoftmax(let axis):
            _ = try Losses.axis(s[0], axis)
            return s[0]
        case .crossEntropy:
            return try Losses.crossEntropyShape(s[0], s[1])
        case .sigmoidCrossEntropy:
            return try BinaryFunction.sub.shape(s[0], s[1])
        }
    }

    /// The reference forward kernel.
    ///
    /// - Throws: ``ExecutionError/invalidLabel(node:index:value:classes:)``
    ///   for a cross-entropy label that is not a class index.
    func forward<T: TensorElement>(_ x: [Tensor<T>], shape: Shape, node: String) throws
        -> Tensor<T>
    {
        switch self {
        case .softmax(let axis):
            return Losses.softmax(x[0], axis: x[0].shape.normalizedAxis(axis)!, log: false)
        case .logSoftmax(let axis):
            return Losses.softmax(x[0], axis: x[0].shape.normalizedAxis(axis)!, log: true)
        case .crossEntropy:
            return try Losses.crossEntropy(x[0], x[1], node: node)
        case .sigmoidCrossEntropy:
            return x[0].broadcastZip(x[1], to: shape, Losses.sigmoidCrossEntropy)
        }
    }

    /// The reference VJP: one cotangent per parent (`nil` for labels).
    func vjp<T: TensorElement>(_ x: [Tensor<T>], y: Tensor<T>, g: Tensor<T>) -> [Tensor<T>?] {
        switch self {
        case .softmax(let axis):
            return [Losses.softmaxVJP(y: y, g: g, axis: y.shape.normalizedAxis(axis)!, log: false)]
        case .logSoftmax(let axis):
            return [Losses.softmaxVJP(y: y, g: g, axis: y.shape.normalizedAxis(axis)!, log: true)]
        case .crossEntropy:
            return Losses.crossEntropyVJP(x[0], x[1], g: g)
        case .sigmoidCrossEntropy:
            return Losses.sigmoidCrossEntropyVJP(x[0], x[1], g: g)
        }
    }
}
