// Reading what a run computed: the output and node values (copied into
// tensors, or read in place without allocating) and the gradients.

extension Execution {
    /// The output's value after the last run.
    public var output: Tensor<Element> { value(of: plan.graph.output)! }

    /// A node's value after the last run, if the plan keeps it (leaves and
    /// the output always; intermediate buffers may be reused).
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func value(of node: NodeID) -> Tensor<Element>? {
        guard plan.tables.valueOffset[node] >= 0 else { return nil }
        // A bound input's offset may be negative: its memory is the caller's.
        let offset = valueOffset(node)
        let shape = plan.graph.shape(of: node)
        return Tensor(uncheckedShape: shape, scalars: Array(arena.region(offset, shape.count)))
    }

    /// The gradient of the output with respect to an input or parameter
    /// after the last run (zeros for an input the output does not depend on);
    /// `nil` for other names, and for inputs in a training plan (which
    /// differentiates with respect to parameters only).
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func gradient(of name: String) -> Tensor<Element>? {
        guard let node = plan.graph.node(named: name),
            plan.options.differentiates(plan.graph.op(of: node))
        else { return nil }
        let shape = plan.graph.shape(of: node)
        let offset = plan.tables.gradientOffset[node]
        guard offset >= 0 else { return .zeros(shape) }
        return Tensor(uncheckedShape: shape, scalars: Array(arena.region(offset, shape.count)))
    }

    /// All input and parameter gradients by name.
    public var gradients: [String: Tensor<Element>] {
        var result: [String: Tensor<Element>] = [:]
        for i in plan.graph.inputs {
            result[plan.graph.name(of: i)] = gradient(of: plan.graph.name(of: i))
        }
        return result
    }

    /// Reads a gradient in place, without copying (allocation-free).
    public func withGradient<R>(of name: String, _ body: (UnsafeBufferPointer<Element>) throws -> R)
        rethrows -> R?
    {
        guard let node = plan.graph.node(named: name), plan.tables.gradientOffset[node] >= 0 else {
            return nil
        }
        return try body(
            UnsafeBufferPointer(
                arena.region(plan.tables.gradientOffset[node], plan.graph.shape(of: node).count)))
    }

    /// The output's value when it has one element (a loss), else `nil`.
    /// Allocation-free, unlike ``output``.
    public var scalarOutput: Element? {
        let graph = plan.graph
        guard graph.shape(of: graph.output).count == 1 else { return nil }
        return arena.base[valueOffset(graph.output)]
    }

    /// Reads the output's value in place, row-major (allocation-free).
    public func withOutput<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        let graph = plan.graph
        return try body(
            UnsafeBufferPointer(
                arena.region(valueOffset(graph.output), graph.shape(of: graph.output).count)))
    }
}
