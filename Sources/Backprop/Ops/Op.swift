/// A node's operation: what `f_i` computes from the node's parents.
///
/// The catalog is small and grouped by family: leaves, `identity`, and one
/// case per family whose payload names the op within it (``UnaryFunction``,
/// ``BinaryFunction``, ``Reduction``, ``MovementOp``, ``LossOp``), so a new
/// op of a family adds a case to that family's enum, not to `Op`. Each
/// family lives in its own folder under `Ops/`, with its reference forward
/// kernels and vector-Jacobian products (VJPs), its ranged kernels and its
/// geometry side by side. `Op+Catalog.swift` dispatches to the families with
/// exhaustive `switch`es, so an op without an arity, a shape rule, a forward
/// kernel or a VJP does not compile.
///
/// ```swift
/// let t: Op = .movement(.transpose(permutation: [1, 0]))
/// let l: Op = .loss(.softmax(axis: -1))
/// ```
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
    /// A movement op: the same elements rearranged (reshape, transpose,
    /// broadcast, slice, concat).
    case movement(MovementOp)
    /// softmax, log-softmax and the losses built on them.
    case loss(LossOp)
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
        case .movement(let m): m.kind
        case .loss(let l): l.kind
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
