/// A node's operation: what `f_i` computes from the node's parents.
///
/// The catalog is small and grouped by family; each family's forward kernel
/// and vector-Jacobian product (VJP) live side by side in the file named
/// after the family (`Elementwise.swift`, `Reductions.swift`,
/// `Movement.swift`, `Matmul.swift`, `Losses.swift`). `Op+Catalog.swift`
/// dispatches with exhaustive `switch`es, so an op without a shape rule, a
/// forward kernel or a VJP does not compile.
///
/// See `docs/ops.md` for every op's forward and VJP formula.
public enum Op: Sendable {
    /// A value given at run time (or its default). Differentiated.
    case input
    /// A trainable value (a model weight). Differentiated, like ``input``.
    case parameter
    /// A fixed value. Not differentiated.
    case constant
    /// y = x. Produced by the simplifier; its VJP passes the cotangent through.
    case identity
    /// An elementwise function of one argument.
    case unary(UnaryFunction)
    /// An elementwise function of two arguments, with NumPy broadcasting.
    case binary(BinaryFunction)
    /// Matrix product of rank-2 or rank-3 (batched) operands.
    case matmul
    /// A reduction over `axes` (all axes when `nil`), keeping reduced axes
    /// as extent 1 when `keepDims`.
    case reduce(Reduction, axes: [Int]?, keepDims: Bool)
    /// The same elements under a new shape (one extent may be -1: inferred).
    case reshape(Shape)
    /// Axis permutation: output axis `i` is input axis `permutation[i]`;
    /// `nil` swaps the last two axes.
    case transpose(permutation: [Int]?)
    /// NumPy broadcast to a shape.
    case broadcast(Shape)
    /// Elements `start..<end` along `axis`.
    case slice(axis: Int, start: Int, end: Int)
    /// Concatenation of all parents along `axis`.
    case concat(axis: Int)
    /// softmax along `axis`, computed stably (max subtracted).
    case softmax(axis: Int)
    /// log softmax along `axis`, computed stably (log-sum-exp).
    case logSoftmax(axis: Int)
    /// Per-example cross-entropy of logits (classes on the last axis) with
    /// integer class labels: `logsumexp(z) − z[label]`. Parents: logits, labels.
    case crossEntropy
    /// Elementwise binary log loss from logits, stable for any logit:
    /// `max(z, 0) − z·y + log(1 + e^−|z|)`. Parents: logits, targets.
    case sigmoidCrossEntropy
    /// A user-defined op. See ``CustomOperation``.
    indirect case custom(any CustomOperation)

    /// The op's catalog entry (its name in graph files).
    public var kind: OpKind {
        switch self {
        case .input: .input
        case .parameter: .parameter
        case .constant: .constant
        case .identity: .identity
        case .unary(let f): f.kind
        case .binary(let f): f.kind
        case .matmul: .matmul
        case .reduce(let r, _, _): r.kind
        case .reshape: .reshape
        case .transpose: .transpose
        case .broadcast: .broadcast
        case .slice: .slice
        case .concat: .concat
        case .softmax: .softmax
        case .logSoftmax: .logSoftmax
        case .crossEntropy: .crossEntropy
        case .sigmoidCrossEntropy: .sigmoidCrossEntropy
        case .custom: .custom
        }
    }

    /// The op's name: the catalog name, or a custom op's own name.
    public var name: String {
        if case .custom(let op) = self { return op.name }
        return kind.rawValue
    }

    /// Whether the node holds a value instead of computing one.
    public var isLeaf: Bool {
        switch self {
        case .input, .parameter, .constant: true
        default: false
        }
    }

    /// Whether the node is one whose gradient the executors report
    /// (inputs and parameters).
    public var isDifferentiableLeaf: Bool {
        switch self {
        case .input, .parameter: true
        default: false
        }
    }
}

/// Every entry of the op catalog, by its graph-file name.
///
/// Tests loop over `OpKind.allCases`, so adding a case here without a test
/// generator fails to compile the test suite.
public enum OpKind: String, Sendable, CaseIterable {
    case input, parameter, constant, identity
    case add, sub, mul, div
    case neg, exp, log, sqrt, pow, tanh, sigmoid, relu, sin, cos, abs
    case matmul
    case sum, mean, max
    case reshape, transpose, broadcast, slice, concat
    case softmax
    case logSoftmax = "log_softmax"
    case crossEntropy = "cross_entropy"
    case sigmoidCrossEntropy = "sigmoid_cross_entropy"
    case custom
}
