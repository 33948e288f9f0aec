/// Records nodes through handles and Swift operators, then builds a
/// validated ``Graph``.
///
/// ```swift
/// let b = GraphBuilder<Double>()
/// let x = b.input("x", 1.0)
/// let y = b.input("y", 2.0)
/// let f = (x + y) * x * y.pow(2)        // the lecture's f(x, y)
/// let graph = try b.build(output: f)
/// ```
///
/// Recording never fails; every check (shapes, input counts, names, handles
/// of another builder) happens in ``build(output:simplify:)``, which throws a
/// ``GraphError`` naming the offending node. A builder is not thread-safe;
/// the graphs it builds are immutable and `Sendable`.
public final class GraphBuilder<Element: TensorElement> {
    @usableFromInline var table = NodeTable<Element>()
    /// The first problem met while recording (reported by `build`, under
    /// the node's name at that time).
    @usableFromInline var recordingError: (node: NodeID, message: String)?

    /// Creates an empty builder.
    @inlinable public init() {}

    /// The number of nodes recorded so far.
    public var nodeCount: Int { table.count }

    /// An input node with a default value (which a run may replace).
    @inlinable
    public func input(_ name: String, _ value: Tensor<Element>) -> Node<Element> {
        node(table.append(name: name, op: .input, parents: [], value: value))
    }

    /// An input node without a default: every run must feed it a value of this shape.
    @inlinable
    public func input(_ name: String, shape: Shape) -> Node<Element> {
        node(table.append(name: name, op: .input, parents: [], shape: shape))
    }

    /// A trainable parameter (a model weight) with its initial value.
    @inlinable
    public func parameter(_ name: String, _ value: Tensor<Element>) -> Node<Element> {
        node(table.append(name: name, op: .parameter, parents: [], value: value))
    }

    /// A constant: a fixed value that is not differentiated.
    @inlinable
    public func constant(_ value: Tensor<Element>, name: String? = nil) -> Node<Element> {
        node(table.append(name: name, op: .constant, parents: [], value: value))
    }

    /// A node applying `op` to `inputs`, in argument order.
    ///
    /// This is what the operators and functions on ``Node`` call; use it for
    /// ops with attributes the shorthand does not cover.
    @inlinable
    public func apply(_ op: Op, _ inputs: [Node<Element>], name: String? = nil) -> Node<Element> {
        let id = table.count
        var parents: [NodeID] = []
        for (k, input) in inputs.enumerated() {
            if input.builder === self {
                parents.append(input.id)
            } else {
                parents.append(-1)
                if recordingError == nil {
                    recordingError = (id, "input \(k) is a node of another GraphBuilder")
                }
            }
        }
        return node(table.append(name: name, op: op, parents: parents))
    }

    /// Gives a recorded node a name (for errors, lookups and graph files).
    @discardableResult
    public func name(_ node: Node<Element>, _ name: String) -> Node<Element> {
        if node.builder === self { table.names[node.id] = name }
        return node
    }

    /// Validates the recorded nodes and returns the graph that computes `output`.
    ///
    /// - Parameters:
    ///   - output: The output node ω.
    ///   - simplify: Whether to apply the simplifier's stabilising rewrites
    ///     (``RewriteRule``); node ids are kept either way.
    /// - Throws: ``GraphError`` naming the node at fault.
    /// - Complexity: O(nodes + edges) plus the ops' shape rules; iterative.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func build(output: Node<Element>, simplify: Bool = true) throws(GraphError) -> Graph<
        Element
    > {
        if let (node, message) = recordingError {
            throw .danglingReference(node: table.displayName(node), message: message)
        }
        guard output.builder === self else {
            throw .danglingReference(
                node: "output", message: "the output is a node of another GraphBuilder")
        }
        return try Graph(table: table, output: output.id, simplify: simplify)
    }

    @inlinable func node(_ id: NodeID) -> Node<Element> { Node(id: id, builder: self) }
}

/// A handle to a node recorded in a ``GraphBuilder``.
///
/// Handles combine with Swift operators and functions into new nodes of the
/// same builder; the node's id stays valid in the built ``Graph``.
public struct Node<Element: TensorElement> {
    /// The node's id, valid in the graph built from the same builder.
    public let id: NodeID

    @inlinable init(id: NodeID, builder: GraphBuilder<Element>) {
        self.id = id
        self.builder = builder
    }

    @usableFromInline let builder: GraphBuilder<Element>

    /// The node with a name (for errors, lookups and graph files).
    public func named(_ name: String) -> Node { builder.name(self, name) }
}
