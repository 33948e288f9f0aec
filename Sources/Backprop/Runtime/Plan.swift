import Foundation

/// How a ``Plan`` splits work. The defaults suit small and large graphs
/// alike; every choice is a function of the graph and these options only —
/// never of the thread count — which is what makes results bitwise
/// identical for any number of threads (see `// Note [Determinism]`).
public struct PlanOptions: Sendable, Equatable {
    /// Whether to compile the backward pass (gradients) or the forward pass only.
    public var gradients: Bool
    /// The target cost of one chunk, in element-operations (about a
    /// nanosecond each). A node costing more is split into several chunks.
    public var grain: Int
    /// Levels cheaper than this run as one task on one worker, and runs of
    /// such levels merge into one serial segment: waking another thread
    /// would cost more than the work.
    public var inlineThreshold: Int
    /// The most chunks one node is split into.
    public var maxChunksPerNode: Int
    /// Whether matrix products may use a BLAS found at run time (see
    /// ``Runtime/blasDescription``). Results then differ in the last bits
    /// from the portable kernel's, but stay identical for any thread count.
    public var useBLAS: Bool
    /// Whether a graph of scalar nodes lowers to a flat tape run on the
    /// calling thread (see `// Note [Scalar tape]`).
    public var scalarTape: Bool
    /// The optimizer that ``Execution/step(on:)`` applies after the
    /// backward pass, or `nil` for a plan that only computes values and
    /// gradients.
    ///
    /// A training plan appends update phases to the backward pass
    /// (`// Note [Optimizer phases]`) and keeps the optimizer's state in
    /// the arena. It differentiates with respect to parameters only: inputs
    /// are data, and get no gradient (``Execution/gradient(of:)`` returns
    /// `nil` for them). An optimizer implies ``gradients``. Its
    /// hyperparameters are the starting values of every execution's;
    /// executions may change them between steps without recompiling.
    public var optimizer: Optimizer?

    /// Creates plan options.
    public init(
        gradients: Bool = true, grain: Int = 16_384, inlineThreshold: Int = 65_536,
        maxChunksPerNode: Int = 64, useBLAS: Bool = true, scalarTape: Bool = true,
        optimizer: Optimizer? = nil
    ) {
        self.optimizer = optimizer
        self.useBLAS = useBLAS
        self.scalarTape = scalarTape
        self.gradients = gradients
        self.grain = Swift.max(1, grain)
        self.inlineThreshold = Swift.max(0, inlineThreshold)
        self.maxChunksPerNode = Swift.max(1, maxChunksPerNode)
    }

    /// Whether the plan has a backward pass: asked for, or implied by an optimizer.
    var computesGradients: Bool { gradients || optimizer != nil }
}

/// One unit of scheduled work: a range of one node's forward or VJP work
/// units, a join, or the seeding or zeroing of a gradient.
struct WorkItem: Sendable {
    enum Kind: UInt8, Sendable {
        /// Forward units `lo..<hi` of `node`.
        case forward
        /// Partials of a two-stage reduction: units are (output, block)
        /// pairs; `dest` is the partial buffer, `sourceCount` the blocks.
        case reducePartial
        /// Outputs `lo..<hi` of a two-stage reduction, folded from its partials.
        case reduceCombine
        /// VJP units `lo..<hi` of argument `slot` of `node`, into `dest`.
        case vjp
        /// A custom op's VJP for all arguments, into each edge's destination.
        case customVJP
        /// dest[lo..<hi] (+)= Σ sources[lo..<hi], in source order.
        case join
        /// dest (the output's gradient) = the cotangent buffer.
        case seed
        /// dest[lo..<hi] = 0 (a gradient that receives no contribution).
        case zero
        /// Elements `lo..<hi` of parameter `node` (its value at `dest`)
        /// updated by the optimizer from its gradient and state
        /// (Note [Optimizer phases]).
        case update
    }
    var kind: Kind
    var node: Int32
    var slot: Int32
    var accumulate: Bool
    var lo: Int
    var hi: Int
    /// A buffer id while planning, an arena offset afterwards.
    var dest: Int
    /// Join sources: a range of `Plan.joinSources`.
    var sourceStart: Int32
    var sourceCount: Int32
}

/// A graph compiled for repeated execution: levels split into chunks by
/// estimated cost, phases separated by joins, and a buffer layout in one
/// arena with buffers reused by liveness. Compile once, run many times
/// through ``Execution``s (one per concurrent caller).
///
/// ```swift
/// let plan = try Plan(graph)
/// let execution = try Execution(plan: plan)
/// try execution.run(on: .shared)
/// execution.gradient(of: "x")
/// ```
///
/// - Complexity: compiling is O(nodes + edges + chunks).
public final class Plan<Element: TensorElement>: Sendable {
    /// The compiled graph.
    public let graph: Graph<Element>
    /// The options it was compiled with.
    public let options: PlanOptions
    /// What the compiler produced.
    public let statistics: PlanStatistics

    // The tables a pass reads, at stable addresses (see FrozenArray).
    let kernels: FrozenArray<NodeKernel>
    /// Per node: the value's offset in the arena (-1: never evaluated).
    let valueOffset: FrozenArray<Int>
    /// Per node: the gradient's offset (-1: none).
    let gradientOffset: FrozenArray<Int>
    /// Per node: scratch offset (-1: none).
    let auxOffset: FrozenArray<Int>
    /// The graph's parent lists (compressed sparse rows).
    let parentStart: FrozenArray<Int>
    /// Parallel to the graph's parent lists: each parent's value offset.
    let parentValueOffsets: FrozenArray<Int>
    /// Parallel to the graph's parent lists: where the edge's contribution goes.
    let edgeDest: FrozenArray<Int>
    let edgeAccumulate: FrozenArray<Bool>
    /// The cotangent fed into the output's gradient (ones unless set).
    let cotangentOffset: Int
    let arenaCount: Int
    let items: FrozenArray<WorkItem>
    let joinSources: FrozenArray<Int>
    /// Tasks are ranges of items; phases are ranges of tasks.
    let taskStart: FrozenArray<Int>
    let phaseStart: FrozenArray<Int>
    let phaseCount: Int
    var taskCount: Int { taskStart.count - 1 }
    /// Phases before this index are forward phases.
    let forwardPhaseCount: Int
    /// Phases from this index on are update phases (the optimizer's, run
    /// by ``Execution/step(on:)`` only); `phaseCount` without an optimizer.
    let updatePhaseStart: Int
    /// Per node: the optimizer state's offset (-1: none). `stateCount`
    /// elements per parameter element, interleaved.
    let stateOffset: FrozenArray<Int>
    /// The parameter nodes, in id order (every one has a value slot).
    let parameters: [NodeID]
    /// Whether any phase has more than one task (else a pass runs inline).
    let isParallel: Bool
    /// Leaves with a value slot (inputs, parameters, constants in use).
    let leaves: [NodeID]
    /// Whether matrix products go through the BLAS.
    public let usesBLAS: Bool
    /// The lowered form of an all-scalar graph, run instead of phases.
    let tape: ScalarTape?
    /// Every buffer's place in the arena and role, and the elements each
    /// item writes: what an execution places on NUMA nodes (Note [Arena placement]).
    let bufferSpans: [BufferSpan]
    let itemWrites: [Range<Int>]

    /// Compiles a graph.
    ///
    /// - Throws: ``GraphError/nonScalarOutput(node:shape:)`` is *not*
    ///   thrown here: a plan for a tensor output seeds the backward pass with
    ///   a cotangent (``Execution/setCotangent(_:)``), ones by default.
    @_specialize(exported:true,where Element == Float)
    @_specialize(exported:true,where Element == Double)
    public init(_ graph: Graph<Element>, options: PlanOptions = PlanOptions()) {
        let start = DispatchTime.now().uptimeNanoseconds
        var builder = PlanBuilder(graph: graph, options: options)
        builder.build()
        self.graph = graph
        self.options = options
        kernels = FrozenArray(builder.kernels)
        valueOffset = FrozenArray(builder.valueOffset)
        gradientOffset = FrozenArray(builder.gradientOffset)
        auxOffset = FrozenArray(builder.auxOffset)
        parentStart = FrozenArray(graph.table.parentStart)
        parentValueOffsets = FrozenArray(builder.parentValueOffsets)
        edgeDest = FrozenArray(builder.edgeDest)
        edgeAccumulate = FrozenArray(builder.edgeAccumulate)
        cotangentOffset = builder.cotangentOffset
        arenaCount = builder.arenaCount
        items = FrozenArray(builder.items)
        joinSources = FrozenArray(builder.joinSources)
        taskStart = FrozenArray(builder.taskStart)
        phaseStart = FrozenArray(builder.phaseStart)
        phaseCount = builder.phaseStart.count - 1
        forwardPhaseCount = builder.forwardPhaseCount
        updatePhaseStart = builder.updatePhaseStart
        stateOffset = FrozenArray(builder.stateOffset)
        parameters = builder.parameters
        isParallel = zip(builder.phaseStart, builder.phaseStart.dropFirst()).contains {
            $1 - $0 > 1
        }
        leaves = builder.leaves
        tape = builder.tape
        bufferSpans = builder.bufferSpans
        itemWrites = builder.itemWrites
        usesBLAS = options.useBLAS && BLAS.shared != nil
        var stats = builder.statistics
        stats.compileNanoseconds = Int(DispatchTime.now().uptimeNanoseconds - start)
        statistics = stats
    }
}

extension Plan {
    /// Where an execution of this plan, created on `runtime` by the calling
    /// thread, places its memory: the runtime's NUMA topology, whether
    /// libnuma was found, and per node the bytes of values, gradients,
    /// partials and parameters (see `docs/numa.md`).
    ///
    /// ```swift
    /// print(plan.placementReport(on: runtime))
    /// ```
    public func placementReport(on runtime: Runtime = .shared) -> PlacementReport {
        let system = runtime.numa
        let placement = ArenaPlacement(
            plan: self, topology: system.topology, pageSize: system.pageSize,
            home: system.currentNode())
        return PlacementReport(system: system, record: placement.record)
    }
}

/// What the plan compiler produced, for observability and tests.
public struct PlanStatistics: Sendable, Equatable {
    /// Levels with work (leaves excluded), forward.
    public var levels = 0
    /// Phases (separated by joins), forward and backward.
    public var forwardPhases = 0, backwardPhases = 0
    /// Phases of optimizer updates after the backward pass (0 without an optimizer).
    public var updatePhases = 0
    /// Phases run by one worker (serial segments and inline levels).
    public var serialPhases = 0
    /// Blocks (a level's items, or its joins) appended to serial phases.
    public var serialLevels = 0
    /// Tasks and work items in all phases.
    public var tasks = 0, items = 0
    /// Whether the graph was lowered to a scalar tape (then there are no phases).
    public var scalarTape = false
    /// Edges that share chunks with other edges into the same gradient
    /// (computed one after another in one task; no partial buffer).
    public var groupedEdges = 0
    /// Edges whose contributions go through a partial buffer and a join.
    public var partialEdges = 0
    /// The arena's size in elements, and what it would be without reuse.
    public var arenaElements = 0, unsharedElements = 0
    /// How long compiling took.
    public var compileNanoseconds = 0
}
