// Operators and functions on node handles, so that graphs read like math:
//   let f = (x + y) * x * y.pow(2)
// Each records one node of the catalog (see `docs/ops.md`).

extension Node {
    @inlinable func unary(_ f: UnaryFunction) -> Node { builder.apply(.unary(f), [self]) }
    @inlinable func constant(_ v: Element) -> Node { builder.constant(Tensor(v)) }

    /// Elementwise sum, with broadcasting.
    @inlinable
    public static func + (a: Node, b: Node) -> Node { a.builder.apply(.binary(.add), [a, b]) }
    /// Elementwise difference, with broadcasting.
    @inlinable
    public static func - (a: Node, b: Node) -> Node { a.builder.apply(.binary(.sub), [a, b]) }
    /// Elementwise product, with broadcasting.
    @inlinable
    public static func * (a: Node, b: Node) -> Node { a.builder.apply(.binary(.mul), [a, b]) }
    /// Elementwise quotient, with broadcasting.
    @inlinable
    public static func / (a: Node, b: Node) -> Node { a.builder.apply(.binary(.div), [a, b]) }
    /// Negation.
    @inlinable
    public static prefix func - (a: Node) -> Node { a.unary(.neg) }

    /// `a + c` for a constant c.
    @inlinable
    public static func + (a: Node, c: Element) -> Node { a + a.constant(c) }
    /// `c + a` for a constant c.
    @inlinable
    public static func + (c: Element, a: Node) -> Node { a.constant(c) + a }
    /// `a − c` for a constant c.
    @inlinable
    public static func - (a: Node, c: Element) -> Node { a - a.constant(c) }
    /// `c − a` for a constant c.
    @inlinable
    public static func - (c: Element, a: Node) -> Node { a.constant(c) - a }
    /// `a · c` for a constant c.
    @inlinable
    public static func * (a: Node, c: Element) -> Node { a * a.constant(c) }
    /// `c · a` for a constant c.
    @inlinable
    public static func * (c: Element, a: Node) -> Node { a.constant(c) * a }
    /// `a / c` for a constant c.
    @inlinable
    public static func / (a: Node, c: Element) -> Node { a / a.constant(c) }
    /// `c / a` for a constant c.
    @inlinable
    public static func / (c: Element, a: Node) -> Node { a.constant(c) / a }

    /// eˣ, elementwise.
    @inlinable
    public func exp() -> Node { unary(.exp) }
    /// ln x, elementwise.
    @inlinable
    public func log() -> Node { unary(.log) }
    /// √x, elementwise.
    @inlinable
    public func sqrt() -> Node { unary(.sqrt) }
    /// xᵖ for a constant exponent, elementwise.
    @inlinable
    public func pow(_ p: Double) -> Node { unary(.pow(p)) }
    /// tanh x, elementwise.
    @inlinable
    public func tanh() -> Node { unary(.tanh) }
    /// σ(x) = 1 / (1 + e^−x), elementwise.
    @inlinable
    public func sigmoid() -> Node { unary(.sigmoid) }
    /// max(x, 0), elementwise.
    @inlinable
    public func relu() -> Node { unary(.relu) }
    /// sin x, elementwise.
    @inlinable
    public func sin() -> Node { unary(.sin) }
    /// cos x, elementwise.
    @inlinable
    public func cos() -> Node { unary(.cos) }
    /// |x|, elementwise.
    @inlinable
    public func abs() -> Node { unary(.abs) }

    /// The matrix product with `other` (rank 2, or rank 3 batched).
    @inlinable
    public func matmul(_ other: Node) -> Node { builder.apply(.matmul, [self, other]) }
    /// The sum over `axes` (all axes when `nil`).
    @inlinable
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Node {
        builder.apply(.reduce(.sum, axes: axes, keepDims: keepDims), [self])
    }
    /// The mean over `axes` (all axes when `nil`).
    @inlinable
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Node {
        builder.apply(.reduce(.mean, axes: axes, keepDims: keepDims), [self])
    }
    /// The maximum over `axes` (all axes when `nil`).
    @inlinable
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Node {
        builder.apply(.reduce(.max, axes: axes, keepDims: keepDims), [self])
    }
    /// The same elements under another shape (one extent may be -1).
    @inlinable
    public func reshaped(_ shape: Shape) -> Node {
        builder.apply(.movement(.reshape(shape)), [self])
    }
    /// The last two axes swapped.
    @inlinable
    public func transposed() -> Node {
        builder.apply(.movement(.transpose(permutation: nil)), [self])
    }
    /// The axes permuted: output axis i is input axis `permutation[i]`.
    @inlinable
    public func permuted(_ permutation: [Int]) -> Node {
        builder.apply(.movement(.transpose(permutation: permutation)), [self])
    }
    /// Broadcast (NumPy rules) to `shape`.
    @inlinable
    public func broadcast(to shape: Shape) -> Node {
        builder.apply(.movement(.broadcast(shape)), [self])
    }
    /// Elements `range` along `axis`.
    @inlinable
    public func slice(axis: Int, _ range: Range<Int>) -> Node {
        builder.apply(
            .movement(.slice(axis: axis, start: range.lowerBound, end: range.upperBound)), [self])
    }
    /// softmax along `axis` (the last by default).
    @inlinable
    public func softmax(axis: Int = -1) -> Node {
        builder.apply(.loss(.softmax(axis: axis)), [self])
    }
    /// log softmax along `axis` (the last by default), computed stably.
    @inlinable
    public func logSoftmax(axis: Int = -1) -> Node {
        builder.apply(.loss(.logSoftmax(axis: axis)), [self])
    }
}

/// The nodes concatenated along `axis`.
///
/// - Precondition: `nodes` is not empty.
@inlinable
public func concat<T>(_ nodes: [Node<T>], axis: Int) -> Node<T> {
    nodes[0].builder.apply(.movement(.concat(axis: axis)), nodes)
}

/// Per-example cross-entropy of `logits` (classes on the last axis) with
/// integer class `labels` (shape: `logits` without its last axis).
@inlinable
public func crossEntropy<T>(logits: Node<T>, labels: Node<T>) -> Node<T> {
    logits.builder.apply(.loss(.crossEntropy), [logits, labels])
}

/// Elementwise binary log loss of `logits` against targets in [0, 1]:
/// `−y·log σ(z) − (1 − y)·log(1 − σ(z))`, computed stably for any logit.
@inlinable
public func sigmoidCrossEntropy<T>(logits: Node<T>, targets: Node<T>) -> Node<T> {
    logits.builder.apply(.loss(.sigmoidCrossEntropy), [logits, targets])
}

/// eˣ, elementwise.
@inlinable
public func exp<T>(_ x: Node<T>) -> Node<T> { x.exp() }
/// ln x, elementwise.
@inlinable
public func log<T>(_ x: Node<T>) -> Node<T> { x.log() }
/// √x, elementwise.
@inlinable
public func sqrt<T>(_ x: Node<T>) -> Node<T> { x.sqrt() }
/// xᵖ for a constant exponent, elementwise.
@inlinable
public func pow<T>(_ x: Node<T>, _ p: Double) -> Node<T> { x.pow(p) }
/// tanh x, elementwise.
@inlinable
public func tanh<T>(_ x: Node<T>) -> Node<T> { x.tanh() }
/// σ(x), elementwise.
@inlinable
public func sigmoid<T>(_ x: Node<T>) -> Node<T> { x.sigmoid() }
/// max(x, 0), elementwise.
@inlinable
public func relu<T>(_ x: Node<T>) -> Node<T> { x.relu() }
/// sin x, elementwise.
@inlinable
public func sin<T>(_ x: Node<T>) -> Node<T> { x.sin() }
/// cos x, elementwise.
@inlinable
public func cos<T>(_ x: Node<T>) -> Node<T> { x.cos() }
/// |x|, elementwise.
@inlinable
public func abs<T>(_ x: Node<T>) -> Node<T> { x.abs() }
/// softmax along `axis` (the last by default).
@inlinable
public func softmax<T>(_ x: Node<T>, axis: Int = -1) -> Node<T> { x.softmax(axis: axis) }
/// log softmax along `axis` (the last by default), computed stably.
@inlinable
public func logSoftmax<T>(_ x: Node<T>, axis: Int = -1) -> Node<T> { x.logSoftmax(axis: axis) }
/// The matrix product `a · b` (rank 2, or rank 3 batched).
@inlinable
public func matmul<T>(_ a: Node<T>, _ b: Node<T>) -> Node<T> { a.matmul(b) }

extension CustomOperation {
    /// A node applying this op to `inputs`: custom ops are used like built-ins.
    ///
    /// - Precondition: at least one input (for an op without inputs, use
    ///   ``GraphBuilder/apply(_:_:name:)`` with `.custom(op)`).
    @inlinable
    public func callAsFunction<T>(_ inputs: Node<T>...) -> Node<T> {
        inputs[0].builder.apply(.custom(self), inputs)
    }
}
