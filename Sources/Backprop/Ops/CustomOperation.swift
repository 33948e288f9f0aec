/// A user-defined op: a forward function and its vector-Jacobian product,
/// used exactly like a built-in op.
///
/// Conform a type to this protocol to add an op that works for both element
/// types, or use ``ClosureOp`` to give the two functions as closures for one
/// element type. Apply it to nodes by calling it:
///
/// ```swift
/// let square = ClosureOp<Double>(
///     name: "square",
///     forward: { x in x[0].map { $0 * $0 } },
///     vjp: { x, _, g in [g.zipMap(x[0]) { 2 * $0 * $1 }] })
/// let b = GraphBuilder<Double>()
/// let x = b.input("x", 3.0)
/// let y = square(x)          // a node, like exp(x)
/// ```
///
/// Contracts, checked at run time by the executors (a violation is an
/// ``ExecutionError``, never a crash): `forward` returns a tensor of the
/// shape that ``outputShape(for:)`` announced; `vjp` returns one entry per
/// input, `nil` meaning "no gradient flows to this input" and otherwise a
/// tensor of that input's shape. Both must be pure functions of their
/// arguments: the parallel runtime may call them from any thread.
public protocol CustomOperation: Sendable {
    /// The op's name, shown in errors and graph files.
    var name: String { get }
    /// The number of inputs the op takes, or `nil` for any number.
    var arity: Int? { get }
    /// Whether the op can run in graphs of this element type.
    func supports(_ dtype: DType) -> Bool
    /// The output shape for the given input shapes. Throw to reject them;
    /// the error's description becomes part of a ``GraphError``.
    func outputShape(for inputShapes: [Shape]) throws -> Shape
    /// Computes the output from the inputs.
    func forward<T: TensorElement>(_ inputs: [Tensor<T>]) throws -> Tensor<T>
    /// Computes, for every input i, `cotangentᵀ · ∂output/∂input_i`.
    func vjp<T: TensorElement>(
        inputs: [Tensor<T>], output: Tensor<T>, cotangent: Tensor<T>
    ) throws -> [Tensor<T>?]
}

extension CustomOperation {
    public var arity: Int? { nil }
    public func supports(_ dtype: DType) -> Bool { true }
}

/// A ``CustomOperation`` for one element type, made from closures.
public struct ClosureOp<Element: TensorElement>: CustomOperation {
    public let name: String
    public let arity: Int?
    private let shapeRule: @Sendable ([Shape]) throws -> Shape
    private let forwardBody: @Sendable ([Tensor<Element>]) throws -> Tensor<Element>
    private let vjpBody:
        @Sendable ([Tensor<Element>], Tensor<Element>, Tensor<Element>) throws -> [Tensor<Element>?]

    /// Creates an op from its forward function and its VJP.
    ///
    /// - Parameters:
    ///   - name: The op's name.
    ///   - arity: The number of inputs, or `nil` for any number.
    ///   - outputShape: The output shape for given input shapes; by default
    ///     the first input's shape (an elementwise op).
    ///   - forward: The output for the given inputs.
    ///   - vjp: Given the inputs, the output and the output's cotangent g,
    ///     each input's cotangent `gᵀ · ∂output/∂input` (or `nil`).
    public init(
        name: String,
        arity: Int? = nil,
        outputShape: @escaping @Sendable ([Shape]) throws -> Shape = { shapes in
            guard let first = shapes.first else { throw CustomOpShapeError.needsAnInput }
            return first
        },
        forward: @escaping @Sendable ([Tensor<Element>]) throws -> Tensor<Element>,
        vjp:
            @escaping @Sendable ([Tensor<Element>], Tensor<Element>, Tensor<Element>) throws ->
            [Tensor<Element>?]
    ) {
        self.name = name
        self.arity = arity
        self.shapeRule = outputShape
        self.forwardBody = forward
        self.vjpBody = vjp
    }

    public func supports(_ dtype: DType) -> Bool { dtype == Element.dtype }

    public func outputShape(for inputShapes: [Shape]) throws -> Shape { try shapeRule(inputShapes) }

    public func forward<T: TensorElement>(_ inputs: [Tensor<T>]) throws -> Tensor<T> {
        guard let typed = inputs as? [Tensor<Element>],
            let result = try forwardBody(typed) as? Tensor<T>
        else { throw CustomOpShapeError.elementType }
        return result
    }

    public func vjp<T: TensorElement>(
        inputs: [Tensor<T>], output: Tensor<T>, cotangent: Tensor<T>
    ) throws -> [Tensor<T>?] {
        guard let typed = inputs as? [Tensor<Element>], let y = output as? Tensor<Element>,
            let g = cotangent as? Tensor<Element>
        else { throw CustomOpShapeError.elementType }
        guard let result = try vjpBody(typed, y, g) as? [Tensor<T>?] else {
            throw CustomOpShapeError.elementType
        }
        return result
    }
}

// The custom-op contract, checked once here for every executor: the
// reference executor (Op+Catalog.swift) and the runtime's kernels
// (NodeKernel+Dispatch.swift) both call these. Errors carry the node's
// display name where the caller knows it (the runtime adds it later).
extension CustomOperation {
    /// The announced output shape, checked: the op supports `dtype`, its
    /// shape rule accepts the inputs, and the shape it announces is valid.
    func checkedOutputShape(_ s: [Shape], dtype: DType) throws(ShapeRuleError) -> Shape {
        guard supports(dtype) else {
            throw .typeMismatch("custom op '\(name)' does not support \(dtype)")
        }
        let shape: Shape
        do { shape = try outputShape(for: s) } catch { throw .mismatch("\(error)") }
        if let problem = shape.validationProblem {
            throw .mismatch("custom op '\(name)' announced an invalid shape: \(problem)")
        }
        return shape
    }

    /// `forward`, checked: a thrown error becomes
    /// ``ExecutionError/customOpFailed(node:op:message:)``, a result of
    /// another shape than announced ``ExecutionError/invalidCustomOpResult(node:op:message:)``.
    func checkedForward<T: TensorElement>(_ x: [Tensor<T>], shape: Shape, node: String)
        throws(ExecutionError) -> Tensor<T>
    {
        let y: Tensor<T>
        do { y = try forward(x) } catch {
            throw .customOpFailed(node: node, op: name, message: "\(error)")
        }
        guard y.shape == shape else {
            throw .invalidCustomOpResult(
                node: node, op: name, message: "returned shape \(y.shape), announced \(shape)")
        }
        return y
    }

    /// `vjp`, checked: one entry per input, each `nil` or of that input's shape.
    func checkedVJP<T: TensorElement>(
        inputs x: [Tensor<T>], output y: Tensor<T>, cotangent g: Tensor<T>, node: String
    ) throws(ExecutionError) -> [Tensor<T>?] {
        let result: [Tensor<T>?]
        do { result = try vjp(inputs: x, output: y, cotangent: g) } catch {
            throw .customOpFailed(node: node, op: name, message: "\(error)")
        }
        guard result.count == x.count else {
            throw .invalidCustomOpResult(
                node: node, op: name,
                message: "VJP returned \(result.count) cotangents for \(x.count) inputs")
        }
        for (i, r) in result.enumerated() where r != nil && r!.shape != x[i].shape {
            throw .invalidCustomOpResult(
                node: node, op: name,
                message: "VJP returned shape \(r!.shape) for input \(i) of shape \(x[i].shape)")
        }
        return result
    }
}

/// Why a ``ClosureOp`` refused its arguments.
public enum CustomOpShapeError: Error, CustomStringConvertible {
    /// The default shape rule needs at least one input.
    case needsAnInput
    /// The op was called with another element type than it was made for.
    case elementType

    public var description: String {
        switch self {
        case .needsAnInput: "the default output shape is the first input's, and there is no input"
        case .elementType: "called with an element type it does not implement"
        }
    }
}
