// Setting what a run reads: inputs and parameters (copied in, or bound to
// the caller's memory), and the cotangent.

extension Execution {
    func store(_ scalars: [Element], at offset: Int) {
        _ = arena.region(offset, scalars.count).update(fromContentsOf: scalars)
    }

    /// Sets the value of an input or parameter for the following runs.
    ///
    /// - Throws: ``GraphError`` for an unknown name, a node that is not an
    ///   input or parameter, or a value of the wrong shape.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func setInput(_ name: String, _ value: Tensor<Element>) throws {
        let node = try plan.graph.feedableNode(named: name, shape: value.shape)
        unbind(node)
        store(value.scalars, at: plan.tables.valueOffset[node])
        markFed(node)
    }

    /// Records that `node` now has a value (Note [Unfed inputs]).
    ///
    /// Note [Unfed inputs]
    /// An execution's arena starts zeroed, so an input that has no default
    /// value and was never fed would read as zeros: a training step on a
    /// `Model` whose `x` and `y` were never set trained on them silently
    /// (loss ln 3, weights changed). The execution keeps the list of the
    /// leaves the output depends on that have no value; feeding one
    /// (``setInput(_:_:)``, its buffer and slice forms,
    /// ``bindInput(_:toUnsafeBuffer:)``, a parameter copied or restored)
    /// takes it off, and ``run(on:)`` and ``step(on:)``
    /// throw ``GraphError/missingValue(node:)`` naming the first one left —
    /// the error ``ReferenceExecutor`` throws for the same graph. Once every
    /// leaf has a value the check is one `isEmpty` per pass.
    func markFed(_ node: NodeID) {
        guard !unfed.isEmpty, let k = unfed.firstIndex(of: node) else { return }
        unfed.remove(at: k)
    }

    /// Sets the cotangent the backward pass starts from (ones by default):
    /// the gradients become the vector-Jacobian product `cotangentᵀ · ∂ω/∂x`.
    ///
    /// - Throws: ``ExecutionError/cotangentShape(expected:got:)``.
    public func setCotangent(_ cotangent: Tensor<Element>) throws {
        let shape = plan.graph.shape(of: plan.graph.output)
        guard cotangent.shape == shape else {
            throw ExecutionError.cotangentShape(expected: shape, got: cotangent.shape)
        }
        store(cotangent.scalars, at: plan.tables.cotangentOffset)
    }

    /// Sets an input (or parameter) from memory, without allocating: the
    /// elements are copied into the execution, row-major, so `buffer` may
    /// be reused as soon as this returns.
    ///
    /// ```swift
    /// try data.withUnsafeBufferPointer { all in
    ///     try execution.setInput("x", from: UnsafeBufferPointer(rebasing: all[range]))
    /// }
    /// ```
    ///
    /// - Throws: ``GraphError/unknownName(_:referencedBy:)``,
    ///   ``GraphError/notAnInput(node:)``, or
    ///   ``GraphError/shapeMismatch(node:message:)`` when `buffer` does not
    ///   hold exactly as many elements as the input's shape.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func setInput(_ name: String, from buffer: UnsafeBufferPointer<Element>)
        throws(GraphError)
    {
        guard let node = plan.graph.node(named: name) else {
            throw .unknownName(name, referencedBy: "inputs")
        }
        guard plan.graph.op(of: node).isDifferentiableLeaf else { throw .notAnInput(node: name) }
        let shape = plan.graph.shape(of: node)
        guard buffer.count == shape.count else {
            throw .shapeMismatch(
                node: name,
                message: "fed \(buffer.count) elements, the input has shape \(shape) "
                    + "(\(shape.count) elements)")
        }
        unbind(node)
        _ = arena.region(plan.tables.valueOffset[node], shape.count).update(fromContentsOf: buffer)
        markFed(node)
    }

    /// Binds an input to the caller's memory, without copying: the
    /// following runs read the input's value from `buffer` itself (row-major,
    /// the input's element count). A minibatch of a large data set is then
    /// read once, by the kernels that use it, instead of being copied first.
    ///
    /// ```swift
    /// try x.withUnsafeBufferPointer { all in
    ///     for b in 0..<batches {
    ///         let rows = UnsafeBufferPointer(rebasing: all[(b * 64 * d)..<((b + 1) * 64 * d)])
    ///         try execution.bindInput("x", toUnsafeBuffer: rows)
    ///         try execution.step()
    ///     }
    /// }
    /// ```
    ///
    /// The binding is *unsafe*: `buffer` must stay valid and unchanged
    /// while runs may read it — until the input is bound again or set with
    /// ``setInput(_:_:)`` / ``setInput(_:from:)-(_,UnsafeBufferPointer<Element>)``
    /// (which end the binding), or the execution is gone. Results are
    /// bitwise the same as after copying the values in. Inputs only:
    /// parameters live in the execution (the optimizer updates them in
    /// place). For a scalar-tape plan (`// Note [Scalar tape]`) the values
    /// are copied. Allocation-free after the first binding of each input.
    ///
    /// - Throws: ``GraphError/unknownName(_:referencedBy:)``,
    ///   ``GraphError/notAnInput(node:)`` (also for a parameter), or
    ///   ``GraphError/shapeMismatch(node:message:)``.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func bindInput(_ name: String, toUnsafeBuffer buffer: UnsafeBufferPointer<Element>)
        throws(GraphError)
    {
        // The graph once: each `plan.graph` is a copy of its arrays'
        // references (a training loop binds twice per step).
        let graph = plan.graph
        guard let node = graph.node(named: name) else {
            throw .unknownName(name, referencedBy: "inputs")
        }
        guard case .input = graph.op(of: node) else { throw .notAnInput(node: name) }
        guard plan.tables.tape == nil, let start = buffer.baseAddress else {
            return try setInput(name, from: buffer)
        }
        let count = graph.shape(of: node).count
        guard buffer.count == count else {
            throw .shapeMismatch(
                node: name,
                message: "bound \(buffer.count) elements, the input has shape "
                    + "\(graph.shape(of: node)) (\(count) elements)")
        }
        bind(node, to: start)
    }

    /// Binds input `node` to the memory at `start` (which the caller has
    /// checked: an input of a plan without a tape, `start` holding its
    /// elements): what ``bindInput(_:toUnsafeBuffer:)`` does after its
    /// checks, and the ``Trainer``'s path, which checked once.
    func bind(_ node: NodeID, to start: UnsafePointer<Element>) {
        let offset = UnsafePointer(arena.base).distance(to: start)
        if inputEdges[node] == nil { inputEdges[node] = edges(readingValueOf: node) }
        // By index: iterating an array allocates in unoptimised builds.
        let edges = inputEdges[node]!
        for k in edges.indices { edgeOffsets.base[edges[k]] = offset }
        boundOffsets[node] = offset
        markFed(node)
    }

    /// Ends an input's binding (if any): runs read the execution's own copy again.
    func unbind(_ node: NodeID) {
        guard boundOffsets.removeValue(forKey: node) != nil, let edges = inputEdges[node] else {
            return
        }
        for k in edges.indices { edgeOffsets.base[edges[k]] = plan.tables.valueOffset[node] }
    }

    /// The edges (indices into the graph's parent lists) whose parent is `node`.
    private func edges(readingValueOf node: NodeID) -> [Int] {
        var result: [Int] = []
        for child in plan.graph.children(of: node) {
            for (k, parent) in plan.graph.parents(of: child).enumerated() where parent == node {
                result.append(plan.tables.parentStart[child] + k)
            }
        }
        return result
    }

    /// Where a node's value is now: the plan's offset, or a bound input's.
    func valueOffset(_ node: NodeID) -> Int {
        boundOffsets.isEmpty
            ? plan.tables.valueOffset[node] : boundOffsets[node] ?? plan.tables.valueOffset[node]
    }

    /// Sets an input (or parameter) from a slice of an array, without
    /// allocating — a minibatch of rows taken from a whole data set:
    ///
    /// ```swift
    /// try execution.setInput("x", from: data[b * batch * d..<(b + 1) * batch * d])
    /// ```
    ///
    /// - Throws: as ``setInput(_:from:)-(_,UnsafeBufferPointer<Element>)``.
    public func setInput(_ name: String, from elements: ArraySlice<Element>) throws(GraphError) {
        let result: Result<Void, GraphError> = elements.withUnsafeBufferPointer { buffer in
            do throws(GraphError) {
                try setInput(name, from: buffer)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }
}
