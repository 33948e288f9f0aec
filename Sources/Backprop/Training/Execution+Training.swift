// Training through an execution: steps, the optimizer's hyperparameters
// and state, reading and copying parameters, and binding minibatches from
// memory without allocating. The update phases themselves are planned in
// Plan/Passes/6-UpdatePhases.swift (Note [Optimizer phases]).

extension Execution {
    // MARK: Steps

    /// Runs one training step: the forward pass, the backward pass and the
    /// optimizer's update of every parameter, in one pass of the workers.
    ///
    /// ```swift
    /// let plan = Plan(graph, options: PlanOptions(optimizer: .adam(learningRate: 0.01)))
    /// let execution = try Execution(plan: plan)
    /// for b in 0..<batches {
    ///     try execution.setInput("x", from: x[b * 64 * d..<(b + 1) * 64 * d])
    ///     try execution.setInput("y", from: y[b * 64..<(b + 1) * 64])
    ///     try execution.step(on: runtime)
    ///     loss += execution.scalarOutput!       // the minibatch loss, before the update
    /// }
    /// ```
    ///
    /// After a step, ``output`` and the gradients are those of the
    /// parameters *before* the update; the parameters hold the updated
    /// values. Weights are bitwise identical for any thread count. After
    /// the first step, a step allocates nothing (custom ops aside).
    ///
    /// - Throws: ``TrainingError/notTraining`` when the plan has no
    ///   optimizer; ``TrainingError/invalidHyperparameter(name:value:expected:)``
    ///   when a hyperparameter (say a ``learningRate`` set since) is out of
    ///   range; ``GraphError/missingValue(node:)`` and ``ExecutionError``
    ///   as ``run(on:)`` does. A step that throws
    ///   leaves the parameters, the optimizer state and ``stepCount`` as
    ///   they were.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func step(on runtime: Runtime = .shared) throws {
        guard let optimizer = hyperparameters else { throw TrainingError.notTraining }
        try optimizer.validate()
        try pass(on: runtime, updating: true)
    }

    /// The optimizer's constants for the step about to run; called by the
    /// pass once it owns the execution.
    func prepareUpdate() {
        guard let optimizer = hyperparameters else { return }
        updateConstants = UpdateConstants(optimizer, step: stepCount + 1)
    }

    // MARK: Optimizer

    /// The optimizer the next ``step(on:)`` applies (the plan's, unless
    /// changed), or `nil` for a plan without one.
    public var optimizer: Optimizer? { hyperparameters }

    /// Changes the optimizer's hyperparameters from the next step on,
    /// without recompiling: a learning-rate schedule, momentum turned on
    /// or off, a new weight decay. The optimizer state is kept.
    ///
    /// - Throws: ``TrainingError/notTraining``,
    ///   ``TrainingError/optimizerMismatch(plan:given:)`` for another
    ///   update rule than the plan's (SGD and Adam keep different state),
    ///   ``TrainingError/invalidHyperparameter(name:value:expected:)``.
    public func setOptimizer(_ optimizer: Optimizer) throws(TrainingError) {
        guard let current = hyperparameters else { throw .notTraining }
        guard current.hasSameMethod(as: optimizer) else {
            throw .optimizerMismatch(plan: current.name, given: optimizer.name)
        }
        try optimizer.validate()
        hyperparameters = optimizer
    }

    /// The learning rate of the next step. Setting it takes effect at the
    /// next ``step(on:)``, which checks it (it must be finite and ≥ 0); it
    /// is 0 and cannot be set for a plan without an optimizer.
    public var learningRate: Double {
        get { hyperparameters?.learningRate ?? 0 }
        set { hyperparameters?.learningRate = newValue }
    }

    /// Zeroes the optimizer's state (SGD's velocity, Adam's moments) and
    /// ``stepCount``: the next step starts the optimizer afresh, from the
    /// current parameters.
    public func resetOptimizerState() {
        for p in plan.tables.parameters {
            if let state = stateRegion(of: p) { state.update(repeating: 0) }
        }
        stepCount = 0
    }

    /// The optimizer state of parameter `node`, `stateCount` elements per
    /// parameter element, interleaved (`nil` when it has none).
    func stateRegion(of node: NodeID) -> UnsafeMutableBufferPointer<Element>? {
        guard let optimizer = plan.options.optimizer, plan.tables.stateOffset[node] >= 0 else {
            return nil
        }
        return arena.region(
            plan.tables.stateOffset[node], plan.graph.shape(of: node).count * optimizer.stateCount)
    }

    // MARK: Parameters

    /// The names of the graph's parameters, in node order.
    public var parameterNames: [String] { plan.tables.parameters.map { plan.graph.name(of: $0) } }

    /// A parameter's current value (after the last step, the updated one);
    /// `nil` when `name` is not a parameter. Set one with ``setInput(_:_:)``.
    public func parameter(_ name: String) -> Tensor<Element>? {
        guard let node = parameterNode(named: name) else { return nil }
        return value(of: node)
    }

    /// Every parameter's current value, by name.
    public var parameters: [String: Tensor<Element>] {
        var result: [String: Tensor<Element>] = [:]
        for p in plan.tables.parameters { result[plan.graph.name(of: p)] = value(of: p) }
        return result
    }

    /// Reads a parameter in place, without copying (allocation-free);
    /// `nil` when `name` is not a parameter.
    public func withParameter<R>(
        _ name: String, _ body: (UnsafeBufferPointer<Element>) throws -> R
    ) rethrows -> R? {
        guard let node = parameterNode(named: name) else { return nil }
        return try body(UnsafeBufferPointer(parameterRegion(node)))
    }

    /// Copies every parameter of this execution's graph from `other`, by
    /// name: for example from a training execution into the execution of
    /// a forward-only evaluation plan that shares the parameters' names.
    /// Parameters of `other` that this graph lacks are ignored.
    /// Allocation-free.
    ///
    /// - Throws: ``TrainingError/parameterMismatch(_:)`` when `other` lacks
    ///   one of the parameters or holds it with another shape; nothing is
    ///   copied then.
    public func copyParameters(from other: Execution<Element>) throws(TrainingError) {
        for p in plan.tables.parameters {
            let name = plan.graph.name(of: p)
            guard let q = other.parameterNode(named: name) else {
                throw .parameterMismatch("the source has no parameter '\(name)'")
            }
            let (mine, theirs) = (plan.graph.shape(of: p), other.plan.graph.shape(of: q))
            guard mine == theirs else {
                throw .parameterMismatch(
                    "parameter '\(name)' has shape \(theirs) in the source, \(mine) here")
            }
        }
        for p in plan.tables.parameters {
            let q = other.parameterNode(named: plan.graph.name(of: p))!
            _ = parameterRegion(p).update(fromContentsOf: other.parameterRegion(q))
            markFed(p)
        }
    }

    func parameterNode(named name: String) -> NodeID? {
        guard let node = plan.graph.node(named: name), case .parameter = plan.graph.op(of: node)
        else { return nil }
        return node
    }

    func parameterRegion(_ node: NodeID) -> UnsafeMutableBufferPointer<Element> {
        arena.region(plan.tables.valueOffset[node], plan.graph.shape(of: node).count)
    }
}
