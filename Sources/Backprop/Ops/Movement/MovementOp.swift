/// The movement ops: the same elements rearranged. All are linear, so each
/// VJP is the op's transpose (see `Movement.swift`).
///
/// ```swift
/// let b = GraphBuilder<Float>()
/// let x = b.input("x", shape: [2, 3])
/// let y = b.apply(.movement(.transpose(permutation: nil)), [x])  // [3, 2]
/// ```
public enum MovementOp: Sendable, Hashable {
    /// The same elements under a new shape (one extent may be -1: inferred).
    /// VJP: g reshaped back.
    case reshape(Shape)
    /// Axis permutation: output axis `i` is input axis `permutation[i]`;
    /// `nil` swaps the last two axes. VJP: g transposed by the inverse
    /// permutation.
    case transpose(permutation: [Int]?)
    /// NumPy broadcast to a shape. VJP: g summed over the broadcast axes.
    case broadcast(Shape)
    /// Elements `start..<end` along `axis`. VJP: g placed in the window,
    /// zeros elsewhere.
    case slice(axis: Int, start: Int, end: Int)
    /// Concatenation of all parents along `axis`. VJP: g cut back into one
    /// piece per parent.
    case concat(axis: Int)

    /// The op's catalog entry.
    var kind: OpKind {
        switch self {
        case .reshape: .reshape
        case .transpose: .transpose
        case .broadcast: .broadcast
        case .slice: .slice
        case .concat: .concat
        }
    }

    /// How many parents the op takes.
    var arity: Arity {
        switch self {
        case .reshape, .transpose, .broadcast, .slice: .exactly(1)
        case .concat: .atLeast(1)
        }
    }

    /// The output shape for the parents' shapes.
    func outputShape(_ s: [Shape]) throws(ShapeRuleError) -> Shape {
        switch self {
        case .reshape(let target):
            return try Movement.reshapeShape(s[0], to: target)
        case .transpose(let p):
            return Movement.transposeShape(s[0], try Movement.permutation(rank: s[0].rank, p))
        case .broadcast(let target):
            return try Movement.broadcastShape(s[0], to: target)
        case .slice(let axis, let start, let end):
            return try Movement.sliceShape(s[0], axis: axis, start: start, end: end).shape
        case .concat(let axis):
            return try Movement.concatShape(s, axis: axis).shape
        }
    }

    /// The reference forward kernel.
    func forward<T: TensorElement>(_ x: [Tensor<T>], shape: Shape) throws -> Tensor<T> {
        switch self {
        case .reshape:
            return x[0].reshapedUnchecked(shape)
        case .transpose(let p):
            return Movement.transpose(x[0], try Movement.permutation(rank: x[0].shape.rank, p))
        case .broadcast:
            return x[0].broadcast(to: shape)
        case .slice(let axis, let start, _):
            return Movement.slice(
                x[0], axis: x[0].shape.normalizedAxis(axis)!, start: start, shape: shape)
        case .concat(let axis):
            return Movement.concat(x, axis: shape.normalizedAxis(axis)!, shape: shape)
        }
    }

    /// The reference VJP: one cotangent per parent.
    func vjp<T: TensorElement>(_ x: [Tensor<T>], y: Tensor<T>, g: Tensor<T>) throws -> [Tensor<T>?]
    {
        switch self {
        case .reshape:
            return [g.reshapedUnchecked(x[0].shape)]
        case .transpose(let p):
            let perm = try Movement.permutation(rank: x[0].shape.rank, p)
            return [Movement.transpose(g, Movement.inverse(perm))]
        case .broadcast:
            return [g.sum(toShape: x[0].shape)]
        case .slice(let axis, let start, _):
            let a = x[0].shape.normalizedAxis(axis)!
            return [Movement.sliceVJP(g, into: x[0].shape, axis: a, start: start)]
        case .concat(let axis):
            return Movement.concatVJP(g, parts: x.map(\.shape), axis: y.shape.normalizedAxis(axis)!)
        }
    }
}
