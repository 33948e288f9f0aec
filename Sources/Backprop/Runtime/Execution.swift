import Dispatch
import Synchronization

/// The state of running one ``Plan``: the arena holding values, gradients
/// and partial buffers. Create one per concurrent caller and reuse it:
/// after the first run, setting inputs and running again allocates nothing
/// (custom ops aside, which exchange `Tensor`s).
///
/// ```swift
/// let execution = try Execution(plan: plan)
/// for batch in batches {
///     try execution.setInput("x", batch)
///     try execution.run(on: runtime)
///     let g = execution.gradient(of: "W")
/// }
/// ```
///
/// Several executions of one plan may run at the same time from different
/// threads. One execution runs one pass at a time: a second `run` while it
/// is running (from another thread, or from inside one of its own custom
/// ops) throws ``ExecutionError/alreadyRunning`` instead of deadlocking.
public final class Execution<Element: TensorElement>: @unchecked Sendable, PassBody {
    /// The plan this execution runs.
    public let plan: Plan<Element>
    let arena: AlignedBuffer<Element>
    /// Where the arena's pages went (Note [Arena placement]).
    let placement: ArenaPlacement
    /// The NUMA system that placed the arena, and whether its pages were bound.
    private let numa: (system: any NUMASystem, pagesBound: Bool)
    private let pass: PassState
    private let running = Atomic<Bool>(false)
    /// The failure of the earliest failing task, by task index.
    private let failure = Mutex<(task: Int, error: ExecutionError)?>(nil)
    /// After a failure: the first task of the phase after the failing one.
    /// Later tasks are skipped; tasks of the failing phase still run, so the
    /// reported failure (the lowest failing task) does not depend on timing.
    private let skipFrom = Atomic<Int>(Int.max)
    /// Per phase: when it ended; per task: start, end and worker (tracing).
    let phaseEnd: AlignedBuffer<UInt64>
    let taskTimes: AlignedBuffer<UInt64>
    let taskWorker: AlignedBuffer<Int32>
    var runStart: UInt64 = 0
    var runEnd: UInt64 = 0
    var tracedLastRun = false
    var workersUsed = 1
    /// Phases the last run ran (all of them for a step, the update phases
    /// left out for a run).
    var phasesRun = 0

    /// The optimizer's hyperparameters for the next step (the plan's to
    /// begin with), and the constants of the step being run.
    var hyperparameters: Optimizer?
    var updateConstants = UpdateConstants<Element>()

    /// Per edge (parallel to the graph's parent lists): where the parent's
    /// value is, as an element offset from the arena's base — the plan's
    /// offsets, except for inputs bound to the caller's memory
    /// (``bindInput(_:toUnsafeBuffer:)``).
    let edgeOffsets: AlignedBuffer<Int>
    /// Inputs bound to the caller's memory: their value's offset from the
    /// arena's base, and (cached) the edges that read them.
    var boundOffsets: [NodeID: Int] = [:]
    var inputEdges: [NodeID: [Int]] = [:]

    /// The number of optimizer steps taken since the execution was created
    /// or its optimizer state was last reset (Adam's t, for bias correction).
    public internal(set) var stepCount = 0

    /// A deliberate bug, for testing the stress checks (`backprop stress
    /// --inject-fault`): when set, a run with more than one worker adds the
    /// first partial of the first join twice into one gradient element.
    package var injectsFault = false

    /// Whether runs record when each task ran and on which worker, for
    /// ``chromeTrace()``. Off by default; recording costs two clock reads per task.
    public var isTracing = false

    /// Creates an execution: allocates the arena through the runtime's NUMA
    /// system and loads every leaf's value (an input's default) and a
    /// cotangent of ones.
    ///
    /// On one NUMA node the arena lives on it. On several, each page goes
    /// to the node whose tasks write it, and the values callers set are
    /// interleaved (`// Note [Arena placement]`); ``placementReport`` says
    /// what went where. Run it on the same runtime for the workers to
    /// follow that placement (any runtime gives the same results).
    ///
    /// - Throws: ``ExecutionError/outOfMemory(bytes:)`` when the plan's
    ///   arena cannot be allocated.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public init(plan: Plan<Element>, runtime: Runtime = .shared) throws(ExecutionError) {
        self.plan = plan
        let system = runtime.numa
        let home = system.currentNode()
        placement = ArenaPlacement(
            plan: plan, topology: system.topology, pageSize: system.pageSize, home: home)
        arena = try AlignedBuffer(count: plan.arenaCount, system: system, placement: .node(home))
        // Bind page runs before anything touches them: first touch then
        // lands where the placement says, whichever thread touches.
        var bound = true
        if placement.runs.count > 1 || placement.runs.first?.placement != .node(home) {
            let raw = UnsafeMutableRawPointer(arena.base)
            for run in placement.runs {
                let region = UnsafeMutableRawBufferPointer(
                    start: raw + run.pages.lowerBound * system.pageSize,
                    count: run.pages.count * system.pageSize)
                // Placements come from the topology, so they are valid.
                bound = ((try? system.bind(region, placement: run.placement)) ?? false) && bound
            }
        }
        numa = (system, bound)
        pass = PassState(nodeIDs: system.topology.nodeIDs)
        phaseEnd = try AlignedBuffer(count: plan.phaseCount)
        taskTimes = try AlignedBuffer(count: 2 * plan.taskCount)
        taskWorker = try AlignedBuffer(count: plan.taskCount)
        edgeOffsets = try AlignedBuffer(count: plan.parentValueOffsets.count)
        edgeOffsets.region(0, plan.parentValueOffsets.count).baseAddress?.update(
            from: plan.parentValueOffsets.pointer, count: plan.parentValueOffsets.count)
        for leaf in plan.leaves {
            if let value = plan.graph.value(of: leaf) {
                store(value.scalars, at: plan.valueOffset[leaf])
            }
        }
        let n = plan.graph.shape(of: plan.graph.output).count
        arena.region(plan.cotangentOffset, n).update(repeating: 1)
        hyperparameters = plan.options.optimizer
    }

    /// What this execution placed where: the NUMA system, whether libnuma
    /// was found, and per node the bytes of values, gradients, partials
    /// and parameters (see `docs/numa.md`).
    public var placementReport: PlacementReport {
        PlacementReport(
            system: numa.system, record: placement.record, pagesBound: numa.pagesBound)
    }

    private func store(_ scalars: [Element], at offset: Int) {
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
        store(value.scalars, at: plan.valueOffset[node])
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
        store(cotangent.scalars, at: plan.cotangentOffset)
    }

    /// Runs the forward pass and, if the plan has one, the backward pass.
    ///
    /// - Parameter runtime: The runtime whose workers run the pass.
    /// - Throws: ``ExecutionError`` for invalid labels, failing custom ops,
    ///   and ``ExecutionError/alreadyRunning``. After a failure the values
    ///   and gradients are unspecified until the next successful run.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func run(on runtime: Runtime = .shared) throws {
        try pass(on: runtime, updating: false)
    }

    /// Runs the plan's phases: all of them when `updating` (a training
    /// step), else those before the update phases (Note [Optimizer phases]).
    func pass(on runtime: Runtime, updating: Bool) throws {
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
        workersUsed = plan.isParallel ? runtime.threads : 1
        defer { runEnd = DispatchTime.now().uptimeNanoseconds }
        if updating { prepareUpdate() }
        if let tape = plan.tape { runTape(tape) }
        let phases = updating ? plan.phaseCount : plan.updatePhaseStart
        phasesRun = phases
        guard phases > 0 else {
            if updating { stepCount += 1 }
            return
        }
        skipFrom.store(Int.max, ordering: .relaxed)
        failure.withLock { $0 = nil }
        runtime.run(
            pass, phaseStart: plan.phaseStart, phases: phases, parallel: plan.isParallel,
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
        g[tape.output] = v[plan.cotangentOffset]
        tape.backward(UnsafePointer(v), g)
    }

    private func runTask(_ t: Int) {
        if t >= skipFrom.load(ordering: .relaxed) { return }
        let p = plan
        for k in p.taskStart[t]..<p.taskStart[t + 1] {
            let item = p.items[k]
            do throws(KernelFailure) {
                try runItem(item)
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
                while plan.phaseStart[next] <= t { next += 1 }
                skipFrom.store(plan.phaseStart[next], ordering: .relaxed)
                return
            }
        }
    }

    @inline(__always)
    private func io(_ j: Int) -> KernelIO<Element> {
        let p = plan
        let aux = p.auxOffset[j]
        return KernelIO(
            values: arena.base, parentOffsets: UnsafePointer(edgeOffsets.base) + p.parentStart[j],
            parentCount: p.parentStart[j + 1] - p.parentStart[j], outOffset: p.valueOffset[j],
            aux: aux >= 0 ? arena.base + aux : nil)
    }

    private func runItem(_ item: WorkItem) throws(KernelFailure) {
        let p = plan
        let base = arena.base
        let j = Int(item.node)
        let range = item.lo..<item.hi
        switch item.kind {
        case .reducePartial, .reduceCombine:
            guard case .reduce(let r, let geo) = p.kernels[j] else { return }
            let partials = base + item.dest
            if item.kind == .reducePartial {
                ReductionKernels.partials(
                    r, geo, io(j), partials, blocks: Int(item.sourceCount), range)
            } else {
                ReductionKernels.combine(
                    r, geo, io(j), partials, blocks: Int(item.sourceCount), range)
            }
        case .forward:
            try p.kernels[j].forward(io(j), range, useBLAS: p.usesBLAS)
        case .vjp:
            let target = VJPTarget(
                g: UnsafePointer(base + p.gradientOffset[j]), dest: base + item.dest,
                accumulate: item.accumulate)
            p.kernels[j].vjp(slot: Int(item.slot), io(j), target, range, useBLAS: p.usesBLAS)
        case .customVJP:
            let results = try p.kernels[j].customVJP(
                io(j), g: UnsafePointer(base + p.gradientOffset[j]))
            for (k, result) in results.enumerated() {
                let e = p.parentStart[j] + k
                let dest = p.edgeDest[e]
                guard dest >= 0 else { continue }
                let n = p.graph.shape(of: p.graph.parents(of: j)[p.parentStart[j] + k]).count
                let out = base + dest
                if let result {
                    if p.edgeAccumulate[e] {
                        for i in 0..<n { out[i] += result.scalars[i] }
                    } else {
                        for i in 0..<n { out[i] = result.scalars[i] }
                    }
                } else if !p.edgeAccumulate[e] {
                    out.update(repeating: 0, count: n)
                }
            }
        case .join:
            // Note [Determinism]
            // Contributions to one gradient from one level are never added
            // concurrently: each edge's VJP writes its own partial buffer, and
            // here one chunk per range of the gradient adds the partials in
            // the plan's fixed edge order (child id, then argument), then adds
            // that to what earlier levels left. Chunk boundaries, edge order
            // and level order are functions of the graph and the plan options
            // only, and every kernel computes each destination element whole
            // within one chunk with a fixed loop order — so the bits of every
            // value and gradient are the same for any thread count and any
            // claiming order. No atomics or locks touch gradient data.
            let out = base + item.dest
            let first = Int(item.sourceStart)
            let sources = p.joinSources.pointer + first
            for i in range {
                var sum = base[sources[0] + i]
                for s in 1..<Int(item.sourceCount) { sum += base[sources[s] + i] }
                out[i] = item.accumulate ? out[i] + sum : sum
            }
            if injectsFault && workersUsed > 1 && range.lowerBound == 0 && !range.isEmpty {
                out[0] += base[sources[0]]  // the deliberate bug: one partial added twice
            }
        case .seed:
            (base + item.dest).update(from: base + p.cotangentOffset, count: item.hi)
        case .zero:
            (base + item.dest + item.lo).update(repeating: 0, count: item.hi - item.lo)
        case .update:
            OptimizerKernels.update(
                updateConstants, w: base + item.dest,
                g: UnsafePointer(base + p.gradientOffset[j]), state: base + p.stateOffset[j], range)
        }
    }

    // MARK: Reading results

    /// The output's value after the last run.
    public var output: Tensor<Element> { value(of: plan.graph.output)! }

    /// A node's value after the last run, if the plan keeps it (leaves and
    /// the output always; intermediate buffers may be reused).
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public func value(of node: NodeID) -> Tensor<Element>? {
        guard plan.valueOffset[node] >= 0 else { return nil }
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
        guard let node = plan.graph.node(named: name), isDifferentiated(node) else { return nil }
        let shape = plan.graph.shape(of: node)
        let offset = plan.gradientOffset[node]
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

    /// Whether the plan differentiates with respect to `node`.
    func isDifferentiated(_ node: NodeID) -> Bool {
        switch plan.graph.op(of: node) {
        case .parameter: true
        case .input: plan.options.optimizer == nil
        default: false
        }
    }

    /// Reads a gradient in place, without copying (allocation-free).
    public func withGradient<R>(of name: String, _ body: (UnsafeBufferPointer<Element>) throws -> R)
        rethrows -> R?
    {
        guard let node = plan.graph.node(named: name), plan.gradientOffset[node] >= 0 else {
            return nil
        }
        return try body(
            UnsafeBufferPointer(
                arena.region(plan.gradientOffset[node], plan.graph.shape(of: node).count)))
    }
}
