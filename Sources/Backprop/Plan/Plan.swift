import Foundation

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
