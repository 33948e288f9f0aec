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
    let numa: (system: any NUMASystem, pagesBound: Bool)
    let pass: PassState
    let running = Atomic<Bool>(false)
    /// The failure of the earliest failing task, by task index.
    let failure = Mutex<(task: Int, error: ExecutionError)?>(nil)
    /// After a failure: the first task of the phase after the failing one.
    /// Later tasks are skipped; tasks of the failing phase still run, so the
    /// reported failure (the lowest failing task) does not depend on timing.
    let skipFrom = Atomic<Int>(Int.max)
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
    /// Scratch regions for the tiles fused blocks recompute (Note [Store
    /// or recompute]).
    let scratch: ScratchPool<Element>
    /// Inputs bound to the caller's memory: their value's offset from the
    /// arena's base, and (cached) the edges that read them.
    var boundOffsets: [NodeID: Int] = [:]
    var inputEdges: [NodeID: [Int]] = [:]
    /// The leaves the output depends on that have no value yet: inputs
    /// without a default that were never fed. A run refuses to start while one is left
    /// (Note [Unfed inputs]).
    var unfed: [NodeID]

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
        arena = try AlignedBuffer(
            count: plan.tables.arenaCount, system: system, placement: .node(home))
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
        phaseEnd = try AlignedBuffer(count: plan.tables.phaseCount)
        taskTimes = try AlignedBuffer(count: 2 * plan.tables.taskCount)
        taskWorker = try AlignedBuffer(count: plan.tables.taskCount)
        edgeOffsets = try AlignedBuffer(count: plan.tables.parentValueOffsets.count)
        scratch = ScratchPool(elements: plan.tables.fusedBlockScratch)
        edgeOffsets.region(0, plan.tables.parentValueOffsets.count).baseAddress?.update(
            from: plan.tables.parentValueOffsets.pointer,
            count: plan.tables.parentValueOffsets.count)
        unfed = []
        for leaf in plan.tables.leaves {
            if let value = plan.graph.value(of: leaf) {
                store(value.scalars, at: plan.tables.valueOffset[leaf])
            } else if plan.graph.isInOutputCone[leaf] {
                unfed.append(leaf)
            }
        }
        let n = plan.graph.shape(of: plan.graph.output).count
        arena.region(plan.tables.cotangentOffset, n).update(repeating: 1)
        hyperparameters = plan.options.optimizer
    }

    /// What this execution placed where: the NUMA system, whether libnuma
    /// was found, and per node the bytes of values, gradients, partials
    /// and parameters (see `docs/numa.md`).
    public var placementReport: PlacementReport {
        PlacementReport(
            system: numa.system, record: placement.record, pagesBound: numa.pagesBound)
    }
}
