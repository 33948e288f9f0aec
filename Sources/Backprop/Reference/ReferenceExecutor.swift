/// The oracle: forward and backward passes written as plainly as the
/// algorithm, one node at a time, on the calling thread.
///
/// Forward: evaluate the nodes the output depends on in a topological
/// order π. Backward: `z_ω ← 1`; then for i in reverse π,
/// `z_i ← Σ_{j ∈ ch(i)} z_j · ∂f_j/∂x_i` — for tensors, each term is the
/// vector-Jacobian product of child j with respect to its argument(s) that
/// are i. Faster executors are tested against this one; it favours being
/// obviously right over speed and allocates freely.
///
/// ```swift
/// let result = try ReferenceExecutor().gradients(graph)
/// result.output            // 12.0
/// result[x]!               // 16.0 (also result.gradients["x"])
/// ```
public struct ReferenceExecutor: Sendable {
    /// Creates a reference executor.
    public init() {}

    /// Evaluates the graph.
    ///
    /// - Parameters:
    ///   - graph: The graph.
    ///   - inputs: Values for input and parameter nodes by name, replacing
    ///     their defaults. Inputs without a default must be given.
    ///   - order: The evaluation order π; by default ``Graph/forwardOrder``.
    ///     Any order of the same nodes with parents first gives the same result.
    /// - Returns: The value of every node the output depends on.
    /// - Throws: ``GraphError`` for unknown, non-input or misshapen inputs
    ///   and missing values; ``ExecutionError`` for an invalid order, invalid
    ///   labels or a failing custom op.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func forward<T>(
        _ graph: Graph<T>, inputs: [String: Tensor<T>] = [:], order: [NodeID]? = nil
    ) throws -> ForwardResult<T> {
        let feeds = try checkFeeds(graph, inputs)
        let order = order ?? graph.forwardOrder
        guard order == graph.forwardOrder || graph.isForwardOrder(order) else {
            throw ExecutionError.invalidOrder(
                "not a topological order of the \(graph.forwardOrder.count) nodes the output depends on"
            )
        }
        var values = [Tensor<T>?](repeating: nil, count: graph.count)
        for i in order {
            let op = graph.op(of: i)
            if op.isLeaf {
                guard let value = feeds[i] ?? graph.value(of: i) else {
                    throw GraphError.missingValue(node: graph.name(of: i))
                }
                values[i] = value
            } else {
                let x = graph.parents(of: i).map { values[$0]! }
                values[i] = try op.forward(x, shape: graph.shape(of: i), node: graph.name(of: i))
            }
        }
        return ForwardResult(graph: graph, values: values)
    }

    /// The output and its gradient with respect to every input and parameter.
    ///
    /// - Parameters:
    ///   - graph: A graph with a scalar output (one element).
    ///   - inputs: Values replacing input defaults, by name.
    ///   - order: The evaluation order π (see ``forward(_:inputs:order:)``).
    ///   - allNodes: Whether to keep the gradient `z_i` of every node.
    /// - Throws: ``GraphError/nonScalarOutput(node:shape:)`` for a tensor
    ///   output (use ``vjp(_:cotangent:inputs:allNodes:)`` or
    ///   ``jacobian(_:inputs:)``), and what ``forward(_:inputs:order:)`` throws.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func gradients<T>(
        _ graph: Graph<T>, inputs: [String: Tensor<T>] = [:], order: [NodeID]? = nil,
        allNodes: Bool = false
    ) throws -> GradientResult<T> {
        let shape = graph.shape(of: graph.output)
        guard shape.count == 1 else {
            throw GraphError.nonScalarOutput(node: graph.name(of: graph.output), shape: shape)
        }
        let forward = try self.forward(graph, inputs: inputs, order: order)
        let z = try backward(graph, forward, seed: .ones(shape), order: order ?? graph.forwardOrder)
        return GradientResult(graph: graph, output: forward.output, z: z, allNodes: allNodes)
    }

    /// The vector-Jacobian product `cotangentᵀ · ∂ω/∂x` for every input x,
    /// for an output of any shape.
    ///
    /// - Throws: ``ExecutionError/cotangentShape(expected:got:)`` when the
    ///   cotangent is not shaped like the output.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func vjp<T>(
        _ graph: Graph<T>, cotangent: Tensor<T>, inputs: [String: Tensor<T>] = [:],
        allNodes: Bool = false
    ) throws -> GradientResult<T> {
        let shape = graph.shape(of: graph.output)
        guard cotangent.shape == shape else {
            throw ExecutionError.cotangentShape(expected: shape, got: cotangent.shape)
        }
        let forward = try self.forward(graph, inputs: inputs)
        let z = try backward(graph, forward, seed: cotangent, order: graph.forwardOrder)
        return GradientResult(graph: graph, output: forward.output, z: z, allNodes: allNodes)
    }

    /// The Jacobian of the output with respect to every input, by one reverse
    /// pass per output element (row i is ∇ω_i).
    ///
    /// - Returns: For each input and parameter name, a `[m, n]` tensor where
    ///   m is the output's and n the input's element count (both flattened
    ///   row-major).
    /// - Complexity: one forward pass and m backward passes.
    @_specialize(exported:true,where T == Float)
    @_specialize(exported:true,where T == Double)
    public func jacobian<T>(
        _ graph: Graph<T>, inputs: [String: Tensor<T>] = [:]
    ) throws -> [String: Tensor<T>] {
        let forward = try self.forward(graph, inputs: inputs)
        let outShape = graph.shape(of: graph.output)
        let m = outShape.count
        var rows: [NodeID: [T]] = [:]
        for i in graph.inputs { rows[i] = [] }
        for k in 0..<m {
            var seed = Tensor<T>.zeros(outShape)
            seed.scalars[k] = 1
            let z = try backward(graph, forward, seed: seed, order: graph.forwardOrder)
            for i in graph.inputs {
                rows[i]! += z[i]?.scalars ?? [T](repeating: 0, count: graph.shape(of: i).count)
            }
        }
        var result: [String: Tensor<T>] = [:]
        for i in graph.inputs {
            result[graph.name(of: i)] = Tensor(
                uncheckedShape: [m, graph.shape(of: i).count], scalars: rows[i]!)
        }
        return result
    }

    /// The backward pass: `z_i` for every node in `order` (nil elsewhere).
    func backward<T>(
        _ graph: Graph<T>, _ forward: ForwardResult<T>, seed: Tensor<T>, order: [NodeID]
    ) throws -> [Tensor<T>?] {
        let values = forward.values
        var z = [Tensor<T>?](repeating: nil, count: graph.count)
        // vjp[j][k] = z_j · ∂f_j/∂(argument k of j), computed once per child.
        var vjps = [[Tensor<T>?]?](repeating: nil, count: graph.count)
        z[graph.output] = seed
        for i in order.reversed() where i != graph.output {
            var sum: Tensor<T>?
            for j in graph.children(of: i) where graph.outputDepends(on: j) {
                if vjps[j] == nil {
                    let x = graph.parents(of: j).map { values[$0]! }
                    vjps[j] = try graph.op(of: j).vjp(
                        x, y: values[j]!, g: z[j]!, node: graph.name(of: j))
                }
                for (k, p) in graph.parents(of: j).enumerated() where p == i {
                    guard let term = vjps[j]![k] else { continue }
                    sum = sum.map { $0.zipMap(term, +) } ?? term
                }
            }
            z[i] = sum ?? .zeros(graph.shape(of: i))
        }
        return z
    }

    /// Resolves fed values to their nodes, checking names, kinds and shapes.
    private func checkFeeds<T>(_ graph: Graph<T>, _ feeds: [String: Tensor<T>]) throws -> [NodeID:
        Tensor<T>]
    {
        var resolved: [NodeID: Tensor<T>] = [:]
        for (name, value) in feeds {
            let node = try graph.feedableNode(named: name, shape: value.shape)
            resolved[node] = value
        }
        return resolved
    }
}

/// The values of a forward pass.
public struct ForwardResult<Element: TensorElement>: Sendable {
    let graph: Graph<Element>
    /// The value of every evaluated node, by id (`nil` for nodes the output
    /// does not depend on).
    public let values: [Tensor<Element>?]

    /// The output's value.
    public var output: Tensor<Element> { values[graph.output]! }

    /// A node's value, if it was evaluated.
    public subscript(node: NodeID) -> Tensor<Element>? {
        values.indices.contains(node) ? values[node] : nil
    }
    /// A node's value, if it was evaluated.
    public subscript(node: Node<Element>) -> Tensor<Element>? { values[node.id] }
}

/// The result of a backward pass: the output and the gradients.
public struct GradientResult<Element: TensorElement>: Sendable {
    /// The output's value ω.
    public let output: Tensor<Element>
    /// ∂ω/∂x for every input and parameter x, by name. An input the output
    /// does not depend on has a zero gradient.
    public let gradients: [String: Tensor<Element>]
    /// `z_i` for every node by id, when asked for (`allNodes: true`); `nil`
    /// for nodes the output does not depend on.
    public let nodeGradients: [Tensor<Element>?]?
    private let inputGradients: [NodeID: Tensor<Element>]

    init(graph: Graph<Element>, output: Tensor<Element>, z: [Tensor<Element>?], allNodes: Bool) {
        var byID: [NodeID: Tensor<Element>] = [:]
        var byName: [String: Tensor<Element>] = [:]
        for i in graph.inputs {
            let g = z[i] ?? .zeros(graph.shape(of: i))
            byID[i] = g
            byName[graph.name(of: i)] = g
        }
        self.output = output
        self.gradients = byName
        self.inputGradients = byID
        self.nodeGradients = allNodes ? z : nil
    }

    /// The gradient of the output with respect to a node: any input or
    /// parameter, or any node when `allNodes` was requested.
    public subscript(node: NodeID) -> Tensor<Element>? {
        inputGradients[node] ?? nodeGradients.flatMap { $0.indices.contains(node) ? $0[node] : nil }
    }
    /// The gradient of the output with respect to a node (see ``subscript(_:)-(NodeID)``).
    public subscript(node: Node<Element>) -> Tensor<Element>? { self[node.id] }
}
