// The catalog's four dispatch points: arity, shape rule, forward kernel,
// VJP. Each `switch` is exhaustive with no `default:`, so adding an op
// without one of the four does not compile. Families answer for their own
// ops (MovementOp, LossOp, UnaryFunction, …), in the files of their folder;
// custom ops enter through the same four points, and their contracts are
// checked in CustomOperation.swift.

/// How many parents an op takes.
enum Arity: Sendable, Equatable {
    case exactly(Int)
    case atLeast(Int)

    /// Throws unless `n` parents fit.
    func check(_ n: Int) throws(ShapeRuleError) {
        switch self {
        case .exactly(let k):
            if n != k { throw .arity(expected: "\(k)", got: n) }
        case .atLeast(let k):
            if n < k { throw .arity(expected: "at least \(k)", got: n) }
        }
    }
}

extension Op {
    /// Throws unless the op accepts `n` inputs.
    func checkArity(_ n: Int) throws(ShapeRuleError) {
        switch self {
        case .input, .parameter, .constant: try Arity.exactly(0).check(n)
        case .identity, .unary, .reduce: try Arity.exactly(1).check(n)
        case .binary, .matmul: try Arity.exactly(2).check(n)
        case .movement(let m): try m.arity.check(n)
        case .loss(let l): try l.arity.check(n)
        case .custom(let op): if let arity = op.arity { try Arity.exactly(arity).check(n) }
        }
    }

    /// The output shape for the given input shapes (non-leaf ops).
    ///
    /// - Precondition: `s.count` passed ``checkArity(_:)`` (graph validation
    ///   checks every node's input count before inferring shapes).
    func outputShape(_ s: [Shape], dtype: DType) throws(ShapeRuleError) -> Shape {
        switch self {
        case .input, .parameter, .constant:
            preconditionFailure("leaf shapes come from their values")
        case .identity, .unary:
            return s[0]
        case .binary(let f):
            return try f.shape(s[0], s[1])
        case .matmul:
            return try MatmulGeometry(s[0], s[1]).output
        case .reduce(_, let axes, let keepDims):
            return try ReductionGeometry(input: s[0], axes: axes, keepDims: keepDims).output
        case .movement(let m):
            return try m.outputShape(s)
        case .loss(let l):
            return try l.outputShape(s)
        case .custom(let op):
            return try op.checkedOutputShape(s, dtype: dtype)
        }
    }

    /// Computes the node's value from its parents' values.
    ///
    /// - Parameters:
    ///   - x: The parents' values, in order.
    ///   - shape: The node's inferred shape.
    ///   - node: The node's display name, for errors.
    func forward<T: TensorElement>(_ x: [Tensor<T>], shape: Shape, node: String) throws -> Tensor<T>
    {
        switch self {
        case .input, .parameter, .constant:
            preconditionFailure("leaves hold values")
        case .identity:
            return x[0]
        case .unary(let f):
            return f.forward(x[0])
        case .binary(let f):
            return f.forward(x[0], x[1], shape: shape)
        case .matmul:
            return Matmul.forward(x[0], x[1], try MatmulGeometry(x[0].shape, x[1].shape))
        case .reduce(let r, let axes, let keepDims):
            return r.forward(
                x[0], try ReductionGeometry(input: x[0].shape, axes: axes, keepDims: keepDims))
        case .movement(let m):
            return try m.forward(x, shape: shape)
        case .loss(let l):
            return try l.forward(x, shape: shape, node: node)
        case .custom(let op):
            return try op.checkedForward(x, shape: shape, node: node)
        }
    }

    /// The vector-Jacobian product: for each parent i, `gᵀ · ∂y/∂x_i`, or
    /// `nil` when no gradient flows to that parent.
    ///
    /// - Parameters:
    ///   - x: The parents' values.
    ///   - y: The node's value.
    ///   - g: The cotangent of the node (its gradient `z`), shaped like `y`.
    ///   - node: The node's display name, for errors.
    func vjp<T: TensorElement>(
        _ x: [Tensor<T>], y: Tensor<T>, g: Tensor<T>, node: String
    ) throws -> [Tensor<T>?] {
        switch self {
        case .input, .parameter, .constant:
            return []
        case .identity:
            return [g]
        case .unary(let f):
            return [f.vjp(x: x[0], y: y, g: g)]
        case .binary(let f):
            return f.vjp(x[0], x[1], g: g)
        case .matmul:
            return Matmul.vjp(x[0], x[1], cotangent: g, try MatmulGeometry(x[0].shape, x[1].shape))
        case .reduce(let r, let axes, let keepDims):
            let geometry = try ReductionGeometry(input: x[0].shape, axes: axes, keepDims: keepDims)
            return [r.vjp(x: x[0], y: y, g: g, geometry)]
        case .movement(let m):
            return try m.vjp(x, y: y, g: g)
        case .loss(let l):
            return l.vjp(x, y: y, g: g)
        case .custom(let op):
            return try op.checkedVJP(inputs: x, output: y, cotangent: g, node: node)
        }
    }
}
