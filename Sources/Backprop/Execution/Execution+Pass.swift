import Dispatch

// One pass: the guard against concurrent runs, the scalar tape or the
// phases on the runtime's workers (``PassBody``), and how a failing task
// stops the pass at the end of its phase.

extension Execution {
    /// Runs the forward pass and, if the plan has one, the backward pass.
    ///
    /// - Parameter runtime: The runtime whose workers run the pass.
    /// - Throws: ``GraphError/missingValue(node:)`` when an input without a
    ///   default value was never fed (nothing runs then);
    ///   ``ExecutionError`` for invalid labels, failing custom ops,
    ///   and ``ExecutionError/alreadyRunning``. After a failure the values
    ///   and gradients are unspecified until the next successful run.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func run(on runtime: Runtime = .shared) throws {
        try pass(on: runtime, updating: false)
    }

    /// Runs the plan's phases: all of them when `updating` (a training
    /// step), else those before the update phases (Note [Optimizer phases]).
    ///
    /// Note [Specialised passes]
    /// Generic code that calls `run` or `step` without knowing the element
    /// type — an embedder's own generic layer, ``ModelEvaluator``, a
    /// ``Trainer`` called from another module — reaches the unspecialised
    /// body, where every element operation of every kernel goes through
    /// protocol witnesses (`TensorElement`'s `+`, literals, comparisons):
    /// 20–40% of a profile of `backprop train mlp` before this note. So the
    /// pass casts itself to its concrete type once, here, and runs the
    /// specialised body; the parallel launch does the same for its workers
    /// (ParallelLaunch.work). Only a third element type would take the
    /// generic route.
    func pass(on runtime: Runtime, updating: Bool) throws {
        if let execution = self as? Execution<Float> {
            try execution.specialisedPass(on: runtime, updating: updating)
        } else if let execution = self as? Execution<Double> {
            try execution.specialisedPass(on: runtime, updating: updating)
        } else {
            try specialisedPass(on: runtime, updating: updating)
        }
    }

    /// The pass itself (see ``pass(on:updating:)``); called with a concrete
    /// `Element`, so the compiler specialises it and everything it calls.
    private func specialisedPass(on runtime: Runtime, updating: Bool) throws {
        if let node = unfed.first { throw GraphError.missingValue(node: plan.graph.name(of: node)) }
        guard
            running.compareExchange(
                expected: false, desired: true, ordering: .acquiringAndReleasing
            ).exchanged
        else {
            throw ExecutionError.alreadyRunning
        }
        defer { running.store(false, ordering: .releasing) }
        runStart = DispatchTime.now().uptimeNanoseconds
        tracedLastRun = isTracing
        workersUsed = plan.tables.isParallel ? runtime.threads : 1
        defer { runEnd = DispatchTime.now().uptimeNanoseconds }
        if updating { prepareUpdate() }
        if let tape = plan.tables.tape { runTape(tape) }
        let phases = updating ? plan.tables.phaseCount : plan.tables.updatePhaseStart
        phasesRun = phases
        guard phases > 0 else {
            if updating { stepCount += 1 }
            return
        }
        skipFrom.store(Int.max, ordering: .relaxed)
        failure.withLock { $0 = nil }
        scratch.prepare(workers: workersUsed)
        runtime.run(
            pass, phaseStart: plan.tables.phaseStart, phases: phases,
            parallel: plan.tables.isParallel,
            body: self)
        if let (_, error) = failure.withLock({ $0 }) { throw error }
        if updating { stepCount += 1 }
    }

    /// Runs task `t` for the pass, timing it when tracing (``PassBody``).
    func runTask(_ t: Int, worker: Int) {
        if tracedLastRun {
            taskTimes.base[2 * t] = DispatchTime.now().uptimeNanoseconds
            runTask(t)
            taskTimes.base[2 * t + 1] = DispatchTime.now().uptimeNanoseconds
            taskWorker.base[t] = Int32(worker)
        } else {
            runTask(t)
        }
    }

    /// Records when phase `phase` ended (``PassBody``).
    func phaseDidEnd(_ phase: Int) {
        phaseEnd.base[phase] = DispatchTime.now().uptimeNanoseconds
    }

    private func runTape(_ tape: ScalarTape) {
        let v = arena.base
        tape.forward(v)
        guard plan.options.computesGradients else { return }
        let g = v + tape.count
        g.update(repeating: 0, count: tape.count)
        g[tape.output] = v[plan.tables.cotangentOffset]
        tape.backward(UnsafePointer(v), g)
    }

    private func runTask(_ t: Int) {
        if t >= skipFrom.load(ordering: .relaxed) { return }
        let p = plan
        var k = p.tables.taskStart[t]
        while k < p.tables.taskStart[t + 1] {
            let item = p.tables.items[k]
            do throws(KernelFailure) {
                if item.kind == .tile {
                    try runFusedBlock(at: k)
                    k += Int(item.sourceCount)
                } else {
                    try runItem(item)
                }
                k += 1
            } catch {
                let node = p.graph.name(of: Int(item.node))
                let described: ExecutionError
                switch error {
                case .invalidLabel(let index, let value, let classes):
                    described = .invalidLabel(
                        node: node, index: index, value: value, classes: classes)
                case .custom(let e): described = e.at(node: node)
                }
                failure.withLock { current in
                    if current == nil || current!.task > t { current = (t, described) }
                }
                var next = 1
                while plan.tables.phaseStart[next] <= t { next += 1 }
                skipFrom.store(plan.tables.phaseStart[next], ordering: .relaxed)
                return
            }
        }
    }
}
