// Saving and restoring an execution's parameters (and optimizer state) as
// a Checkpoint (format: docs/training.md).

extension Execution {
    /// A snapshot of every parameter and, with `includingOptimizerState`
    /// and a training plan, the optimizer's state and step count.
    ///
    /// ```swift
    /// try execution.checkpoint().write(to: "model.bpck")
    /// ```
    public func checkpoint(includingOptimizerState: Bool = true) -> Checkpoint<Element> {
        let parameters = plan.tables.parameters.map {
            NamedTensor(name: plan.graph.name(of: $0), value: value(of: $0)!)
        }
        guard includingOptimizerState, let optimizer = plan.options.optimizer else {
            return Checkpoint(parameters: parameters)
        }
        let tensors = plan.tables.parameters.compactMap { p -> NamedTensor<Element>? in
            guard let state = stateRegion(of: p) else { return nil }
            return NamedTensor(
                name: plan.graph.name(of: p),
                value: Tensor(uncheckedShape: [state.count], scalars: Array(state)))
        }
        return Checkpoint(
            parameters: parameters,
            optimizerState: .init(
                method: optimizer.name, stepCount: stepCount, stateCount: optimizer.stateCount,
                tensors: tensors))
    }

    /// Loads a checkpoint's parameters (and optimizer state) into this
    /// execution, all or nothing.
    ///
    /// The checkpoint must hold exactly this graph's parameters, with the
    /// same shapes. With `includingOptimizerState`, a training plan takes
    /// the checkpoint's optimizer state and step count when it has them
    /// (for the same update rule, and every parameter with state), and
    /// starts afresh (zero state, step 0) when it has none; without it, or
    /// for a plan without an optimizer, the state is left as it is (or
    /// ignored).
    ///
    /// - Throws: ``CheckpointError/missingParameter(_:)``,
    ///   ``CheckpointError/unexpectedParameter(_:)``,
    ///   ``CheckpointError/shapeMismatch(parameter:expected:found:)``,
    ///   ``CheckpointError/optimizerMismatch(expected:found:)``; nothing is
    ///   changed then.
    public func restore(_ checkpoint: Checkpoint<Element>, includingOptimizerState: Bool = true)
        throws(CheckpointError)
    {
        var source: [NodeID: [Element]] = [:]
        for p in plan.tables.parameters {
            let name = plan.graph.name(of: p)
            guard let saved = checkpoint.parameter(name) else { throw .missingParameter(name) }
            let shape = plan.graph.shape(of: p)
            guard saved.shape == shape else {
                throw .shapeMismatch(parameter: name, expected: shape, found: saved.shape)
            }
            source[p] = saved.scalars
        }
        for saved in checkpoint.parameters where parameterNode(named: saved.name) == nil {
            throw .unexpectedParameter(saved.name)
        }
        var state: [NodeID: [Element]]?
        var steps = 0
        if includingOptimizerState, let optimizer = plan.options.optimizer {
            state = [:]
            if let saved = checkpoint.optimizerState {
                guard saved.method == optimizer.name else {
                    throw .optimizerMismatch(expected: optimizer.name, found: saved.method)
                }
                for p in plan.tables.parameters {
                    guard let region = stateRegion(of: p) else { continue }
                    let name = plan.graph.name(of: p)
                    guard let tensor = saved.tensors.first(where: { $0.name == name }) else {
                        throw .missingParameter(name)
                    }
                    guard tensor.value.count == region.count else {
                        throw .shapeMismatch(
                            parameter: name, expected: [region.count], found: tensor.value.shape)
                    }
                    state![p] = tensor.value.scalars
                }
                for tensor in saved.tensors {
                    guard let p = parameterNode(named: tensor.name), stateRegion(of: p) != nil
                    else { throw .unexpectedParameter(tensor.name) }
                }
                steps = saved.stepCount
            }
        }
        // Everything checked: now write.
        for (p, scalars) in source {
            _ = parameterRegion(p).update(fromContentsOf: scalars)
            markFed(p)
        }
        if let state {
            resetOptimizerState()
            for (p, scalars) in state { _ = stateRegion(of: p)!.update(fromContentsOf: scalars) }
            stepCount = steps
        }
    }
}
