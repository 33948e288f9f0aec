// The catalog's three dispatch points: shape rule, forward kernel, VJP.
// Each `switch` is exhaustive with no `default:`, so adding an op without
// one of the three does not compile. The formulas live in the family files.

extension Op {
    /// The accepted number of inputs, as text for errors, and whether `n` fits.
    func checkArity(_ n: Int) throws(ShapeRuleError) {
        let expected: String
        switch self {
        case .input, .parameter, .constant:
            if n == 0 { return }
            expected = "0"
        case .identity, .unary, .reduce, .reshape, .transpose, .broadcast, .slice, .softmax,
            .logSoftmax:
            if n == 1 { return }
            expected = "1"
        case .binary, .matmul, .crossEntropy, .sigmoidCrossEntropy:
            if n == 2 { return }
            expected = "2"
        case .concat:
            if n >= 1 { return }
            expected = "at least 1"
        case .custom(let op):
            guard let arity = op.arity, arity != n else { return }
            expected = "\(arity)"
        }
        throw .arity(expected: expected, got: n)
    }

    /// The output shape for the given input shapes (non-leaf ops).
    ///
    /// - Precondition: `s.count` passed ``checkArity(_:)`` (graph validation
    ///   checks every node's input count before inferring shapes).
    func outputShape(_ s: [Shape], dtype: DType) throws(ShapeRuleError) -> Shape {
        switch self {
        case .input, .parameter, .constant:
            preconditionFailure("leaf shapes come from their values")
        case .identity, .unary, .softmax, .logSoftmax:
            if case .softmax(let axis) = self { _ = try Losses.axis(s[0], axis) }
            if case .logSoftmax(let axis) = self { _ = try Losses.axis(s[0], axis) }
            return s[0]
        case .binary(let f):
            return try f.shape(s[0], s[1])
        case .matmul:
            return try MatmulGeometry(s[0], s[1]).output
        case .reduce(_, let axes, let keepDims):
            return try ReductionGeometry(input: s[0], axes: axes, keepDims: keepDims).output
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
        case .crossEntropy:
            return try Losses.crossEntropyShape(s[0], s[1])
        case .sigmoidCrossEntropy:
            return try BinaryFunction.sub.shape(s[0], s[1])
        case .custom(let op):
            guard op.supports(dtype) else {
                throw .typeMismatch("custom op '\(op.name)' does not support \(dtype)")
            }
            let shape: Shape
            do { shape = try op.outputShape(for: s) } catch { throw .mismatch("\(error)") }
            if let problem = shape.validationProblem {
                throw .mismatch("custom op '\(op.name)' announced an invalid shape: \(problem)")
            }
            return shape
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
        case .softmax(let axis):
            return Losses.softmax(x[0], axis: x[0].shape.normalizedAxis(axis)!, log: false)
        case .logSoftmax(let axis):
            return Losses.softmax(x[0], axis: x[0].shape.normalizedAxis(axis)!, log: true)
        case .crossEntropy:
            return try Losses.crossEntropy(x[0], x[1], node: node)
        case .sigmoidCrossEntropy:
            return x[0].broadcastZip(x[1], to: shape, Losses.sigmoidCrossEntropy)
        case .custom(let op):
            let y: Tensor<T>
            do { y = try op.forward(x) } catch {
                throw ExecutionError.customOpFailed(node: node, op: op.name, message: "\(error)")
            }
            guard y.shape == shape else {
                throw ExecutionError.invalidCustomOpResult(
                    node: node, op: op.name,
                    message: "returned shape \(y.shape), announced \(shape)")
            }
            return y
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
        case .softmax(let axis):
            return [Losses.softmaxVJP(y: y, g: g, axis: y.shape.normalizedAxis(axis)!, log: false)]
        case .logSoftmax(let axis):
            return [Losses.softmaxVJP(y: y, g: g, axis: y.shape.normalizedAxis(axis)!, log: true)]
        case .crossEntropy:
            return Losses.crossEntropyVJP(x[0], x[1], g: g)
        case .sigmoidCrossEntropy:
            return Losses.sigmoidCrossEntropyVJP(x[0], x[1], g: g)
        case .custom(let op):
            let result: [Tensor<T>?]
            do { result = try op.vjp(inputs: x, output: y, cotangent: g) } catch {
                throw ExecutionError.customOpFailed(node: node, op: op.name, message: "\(error)")
            }
            guard result.count == x.count else {
                throw ExecutionError.invalidCustomOpResult(
                    node: node, op: op.name,
                    message: "VJP returned \(result.count) cotangents for \(x.count) inputs")
            }
            for (i, r) in result.enumerated() where r != nil && r!.shape != x[i].shape {
                throw ExecutionError.invalidCustomOpResult(
                    node: node, op: op.name,
                    message: "VJP returned shape \(r!.shape) for input \(i) of shape \(x[i].shape)")
            }
            return result
        }
    }
}
